export interface ListeningOptions {
  /** Offer each name to listeners in random order (spreads load), else in registration order. */
  shuffleProviders: boolean;
  /** Milliseconds a listener has to accept or reject an offer before the next one is asked. */
  responseTimeout: number;
  /** Milliseconds between re-offers of subscribed names that have no provider; <= 1000 disables. */
  rematchInterval: number;
  /** Milliseconds after a search found no provider before the rematch offers that name again. */
  matchCooldown: number;
  /** Longest listen pattern accepted. */
  maxPatternLength: number;
  /** Listen patterns one connection may hold at once (each costs a match on every new subscription). */
  maxListenPatternsPerConnection: number;
  /**
   * In a cluster, milliseconds between two nodes' turns at starting a search that several could
   * start at once; above the bus's delivery time, so that the next node sees the first one's
   * claim. 0 lets every node start at once (conflicts are then settled after the fact).
   */
  clusterTurn: number;
}

export const DEFAULT_LISTENING_OPTIONS: ListeningOptions = {
  shuffleProviders: true,
  responseTimeout: 500,
  rematchInterval: 30_000,
  matchCooldown: 10_000,
  maxPatternLength: 256,
  maxListenPatternsPerConnection: 200,
  clusterTurn: 25,
};

/** Throws, naming the option, when a limit cannot work; the loader reports it as a setup failure. */
export function checkOptions(options: ListeningOptions): void {
  for (const key of ['maxPatternLength', 'maxListenPatternsPerConnection'] as const) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`listening option ${key} must be a positive integer, got ${String(value)}`);
  }
}
