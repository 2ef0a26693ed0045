import { Type, type Static } from '@deepstream-ts/core';

export const LISTENING_OPTIONS = Type.Object({
  /** Offer each name to listeners in random order (spreads load), else in registration order. */
  shuffleProviders: Type.Boolean({ default: true }),
  /** Milliseconds a listener has to accept or reject an offer before the next one is asked. */
  responseTimeout: Type.Number({ minimum: 0, default: 500 }),
  /** Milliseconds between re-offers of subscribed names that have no provider; <= 1000 disables. */
  rematchInterval: Type.Number({ default: 30_000 }),
  /** Milliseconds after a search found no provider before the rematch offers that name again. */
  matchCooldown: Type.Number({ minimum: 0, default: 10_000 }),
  /** Longest listen pattern accepted. */
  maxPatternLength: Type.Integer({ minimum: 1, default: 256 }),
  /** Listen patterns one connection may hold at once (each costs a match on every new subscription). */
  maxListenPatternsPerConnection: Type.Integer({ minimum: 1, default: 200 }),
  /**
   * In a cluster, milliseconds between two nodes' turns at starting a search that several could
   * start at once; above the bus's delivery time, so that the next node sees the first one's
   * claim and none claims in vain. 0 lets every node start at once: the barrier after a claim still
   * lets only one of them offer (RECORDS §13).
   */
  clusterTurn: Type.Number({ minimum: 0, default: 25 }),
});

export type ListeningOptions = Static<typeof LISTENING_OPTIONS>;
