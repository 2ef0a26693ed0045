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
}

export const DEFAULT_LISTENING_OPTIONS: ListeningOptions = {
  shuffleProviders: true,
  responseTimeout: 500,
  rematchInterval: 30_000,
  matchCooldown: 10_000,
  maxPatternLength: 256,
};
