export interface RateLimitOptions {
  /** Sustained messages per second each connection may send; required. */
  messagesPerSecond?: number;
  /** Messages a connection may send at once after being quiet; default: `messagesPerSecond`. */
  burst?: number;
}

export interface RateLimit {
  messagesPerSecond: number;
  burst: number;
}

/** Throws, naming the option, unless the limit is usable: a limit nobody set is a mistake, not "no limit". */
export function checkOptions(options: Readonly<RateLimitOptions>): RateLimit {
  const { messagesPerSecond, burst = messagesPerSecond } = options;
  if (typeof messagesPerSecond !== 'number' || !Number.isFinite(messagesPerSecond) || messagesPerSecond <= 0) {
    throw new TypeError(`rate-limit option messagesPerSecond must be a positive number, got ${String(messagesPerSecond)}`);
  }
  if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) {
    throw new TypeError(`rate-limit option burst must be a number of at least 1, got ${String(burst)}`);
  }
  return { messagesPerSecond, burst };
}
