/** A sustained rate and the burst allowed after a quiet spell. */
export interface RateLimitSetting {
  /** Sustained messages per second. */
  messagesPerSecond: number;
  /** Messages at once after being quiet (bucket size, ≥ 1); default: `messagesPerSecond`. */
  burst?: number;
}

export interface RateLimitOptions {
  /** Per connection (the first form of this plugin; same as `perConnection`). */
  messagesPerSecond?: number;
  burst?: number;
  /** Each connection (WebSocket) or HTTP request on its own. */
  perConnection?: RateLimitSetting;
  /** All connections and HTTP requests of one user id together, cluster-wide. */
  perUser?: RateLimitSetting;
  /** All connections and HTTP requests from one remote address together, cluster-wide. */
  perAddress?: RateLimitSetting;
  /** Milliseconds between sweeps that forget the buckets of quiet users and addresses. */
  sweepInterval?: number;
  /** Milliseconds between the counts a node sends the others for perUser and perAddress. */
  clusterSyncInterval?: number;
}

export interface RateLimit {
  messagesPerSecond: number;
  burst: number;
}

export type Scope = 'perConnection' | 'perUser' | 'perAddress';

export interface RateLimits {
  perConnection: RateLimit | undefined;
  perUser: RateLimit | undefined;
  perAddress: RateLimit | undefined;
  sweepInterval: number;
  clusterSyncInterval: number;
}

export const DEFAULT_SWEEP_INTERVAL = 10_000;
export const DEFAULT_CLUSTER_SYNC_INTERVAL = 250;

/** Throws, naming the option, unless the limits are usable: a limit nobody set is a mistake, not "no limit". */
export function checkOptions(options: Readonly<RateLimitOptions>): RateLimits {
  const { perUser, perAddress, sweepInterval = DEFAULT_SWEEP_INTERVAL, clusterSyncInterval = DEFAULT_CLUSTER_SYNC_INTERVAL } = options;
  let { perConnection } = options;
  if (options.messagesPerSecond !== undefined || options.burst !== undefined) {
    if (perConnection !== undefined) throw new TypeError('rate-limit options messagesPerSecond/burst and perConnection set the same limit: use one of them');
    perConnection = { messagesPerSecond: options.messagesPerSecond as number, burst: options.burst };
  }
  if (perConnection === undefined && perUser === undefined && perAddress === undefined) {
    throw new TypeError('rate-limit option messagesPerSecond must be a positive number, got undefined (or set perConnection, perUser or perAddress)');
  }
  for (const [key, value] of [['sweepInterval', sweepInterval], ['clusterSyncInterval', clusterSyncInterval]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`rate-limit option ${key} must be a positive integer (milliseconds), got ${String(value)}`);
  }
  return {
    perConnection: perConnection && checkSetting(perConnection, options.perConnection === undefined ? '' : 'perConnection.'),
    perUser: perUser && checkSetting(perUser, 'perUser.'),
    perAddress: perAddress && checkSetting(perAddress, 'perAddress.'),
    sweepInterval,
    clusterSyncInterval,
  };
}

function checkSetting(setting: RateLimitSetting, prefix: string): RateLimit {
  if (setting === null || typeof setting !== 'object') throw new TypeError(`rate-limit option ${prefix.slice(0, -1)} must be { messagesPerSecond, burst? }, got ${String(setting)}`);
  const { messagesPerSecond, burst = messagesPerSecond } = setting;
  if (typeof messagesPerSecond !== 'number' || !Number.isFinite(messagesPerSecond) || messagesPerSecond <= 0) {
    throw new TypeError(`rate-limit option ${prefix}messagesPerSecond must be a positive number, got ${String(messagesPerSecond)}`);
  }
  if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) {
    throw new TypeError(`rate-limit option ${prefix}burst must be a number of at least 1, got ${String(burst)}`);
  }
  return { messagesPerSecond, burst };
}
