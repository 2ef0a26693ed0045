import { Type, invalidOptions, type Static } from '@deepstream-ts/core';

const messagesPerSecond = () => Type.Number({ exclusiveMinimum: 0 });
const burst = () => Type.Number({ minimum: 1 });

/** A sustained rate and the burst allowed after a quiet spell. */
const SETTING = Type.Object({
  /** Sustained messages per second. */
  messagesPerSecond: messagesPerSecond(),
  /** Messages at once after being quiet (bucket size, ≥ 1); default: `messagesPerSecond`. */
  burst: Type.Optional(burst()),
});

export const RATE_LIMIT_OPTIONS = Type.Object({
  /** Per connection (the first form of this plugin; same as `perConnection`). */
  messagesPerSecond: Type.Optional(messagesPerSecond()),
  burst: Type.Optional(burst()),
  /** Each connection (WebSocket) or HTTP request on its own. */
  perConnection: Type.Optional(SETTING),
  /** All connections and HTTP requests of one user id together, cluster-wide. */
  perUser: Type.Optional(SETTING),
  /** All connections and HTTP requests from one remote address together, cluster-wide. */
  perAddress: Type.Optional(SETTING),
  /** Milliseconds between sweeps that forget the buckets of quiet users and addresses. */
  sweepInterval: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Milliseconds between the counts a node sends the others for perUser and perAddress. */
  clusterSyncInterval: Type.Integer({ minimum: 1, default: 250 }),
});

export type RateLimitSetting = Static<typeof SETTING>;
export type RateLimitOptions = Static<typeof RATE_LIMIT_OPTIONS>;

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

/**
 * The limits in force. Rules the schema cannot say: the two ways of writing the per-connection
 * limit exclude each other, and a limit nobody set is a mistake, not "no limit".
 */
export function resolveLimits(plugin: string, options: Readonly<RateLimitOptions>): RateLimits {
  const { perUser, perAddress, sweepInterval, clusterSyncInterval } = options;
  let perConnection: Partial<RateLimitSetting> | undefined = options.perConnection;
  if (options.messagesPerSecond !== undefined || options.burst !== undefined) {
    if (perConnection !== undefined) throw invalidOptions(plugin, 'options messagesPerSecond/burst and perConnection set the same limit: use one of them');
    perConnection = { messagesPerSecond: options.messagesPerSecond, burst: options.burst };
  }
  if (perConnection === undefined && perUser === undefined && perAddress === undefined) {
    throw invalidOptions(plugin, 'option "messagesPerSecond" must be a positive number; it is missing (or set perConnection, perUser or perAddress)');
  }
  if (perConnection !== undefined && perConnection.messagesPerSecond === undefined) {
    throw invalidOptions(plugin, 'option "messagesPerSecond" must be a positive number when "burst" is set; it is missing');
  }
  return {
    perConnection: perConnection && limitOf(plugin, options.perConnection === undefined ? '' : 'perConnection.', perConnection as RateLimitSetting),
    perUser: perUser && limitOf(plugin, 'perUser.', perUser),
    perAddress: perAddress && limitOf(plugin, 'perAddress.', perAddress),
    sweepInterval,
    clusterSyncInterval,
  };
}

/** `burst` defaults to the rate, which may be below the one message a bucket must hold. */
function limitOf(plugin: string, prefix: string, { messagesPerSecond, burst = messagesPerSecond }: RateLimitSetting): RateLimit {
  if (burst < 1) throw invalidOptions(plugin, `option "${prefix}burst" must be a number >= 1 (it defaults to messagesPerSecond), got ${burst}`);
  return { messagesPerSecond, burst };
}
