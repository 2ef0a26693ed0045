import { Type, invalidOptions, type Static } from '@deepstream-ts/core';

export const CLUSTER_REDIS_OPTIONS = Type.Object({
  url: Type.String({ minLength: 1, default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
  /** Prepended to the pub/sub channel names, so that several clusters can share one Redis. */
  channelPrefix: Type.String({ default: 'ds:cluster:' }),
  /** Milliseconds between heartbeats. */
  keepAliveInterval: Type.Number({ exclusiveMinimum: 0, default: 2000 }),
  /** A node silent for this long is dropped with its subscriptions and providers (spec: 6000); above keepAliveInterval. */
  nodeTimeout: Type.Number({ exclusiveMinimum: 0, default: 6000 }),
});

export type ClusterRedisOptions = Static<typeof CLUSTER_REDIS_OPTIONS>;

/** The rule the schema cannot say: a node must miss heartbeats before it counts as gone. */
export function checkTiming(plugin: string, { keepAliveInterval, nodeTimeout }: ClusterRedisOptions): void {
  if (!(nodeTimeout > keepAliveInterval)) throw invalidOptions(plugin, `nodeTimeout (${nodeTimeout}) must be greater than keepAliveInterval (${keepAliveInterval})`);
}
