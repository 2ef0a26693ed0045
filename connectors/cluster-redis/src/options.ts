import { Type, invalidOptions, type Static } from '@deepstream-ts/core';
import type { RedisTarget } from './redis-transport.ts';

const hostAndPort = Type.Object({ host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }, { expected: '{ host, port }' });

export const CLUSTER_REDIS_OPTIONS = Type.Object({
  /**
   * One Redis server: `redis://[:password@]host:port[/db]`. Give exactly one of url, sentinels
   * and cluster; with none, `$REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  url: Type.Optional(Type.String({ minLength: 1 })),
  /** The master found through these Sentinels, by its group `name`. */
  sentinels: Type.Optional(Type.Array(hostAndPort, { minItems: 1, expected: 'a non-empty list of { host, port }' })),
  /** With sentinels: the name of the master group they monitor. */
  name: Type.Optional(Type.String({ minLength: 1 })),
  /** A Redis Cluster (Redis 7 or later: sharded pub/sub), reached through these seed nodes. */
  cluster: Type.Optional(
    Type.Object({ nodes: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, expected: 'a non-empty list of redis://host:port' }) }),
  ),
  /** With sentinels or cluster: the Redis servers' password (with url it goes in the URL). */
  password: Type.Optional(Type.String({ writeOnly: true })),
  /** With sentinels: the Sentinels' own password, if they have one. */
  sentinelPassword: Type.Optional(Type.String({ writeOnly: true })),
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

/** Which Redis the options name: exactly one of url, sentinels and cluster, and only the options that go with it. */
export function redisTarget(plugin: string, options: ClusterRedisOptions): RedisTarget {
  const { url, sentinels, name, cluster, password, sentinelPassword } = options;
  const given = [url !== undefined && 'url', sentinels !== undefined && 'sentinels', cluster !== undefined && 'cluster'].filter(Boolean);
  if (given.length > 1) throw invalidOptions(plugin, `give one of url, sentinels and cluster, not ${given.join(' and ')}`);
  if (sentinels === undefined && name !== undefined) throw invalidOptions(plugin, 'name is the Sentinel master group: it goes with sentinels');
  if (sentinels === undefined && sentinelPassword !== undefined) throw invalidOptions(plugin, 'sentinelPassword goes with sentinels');
  if (sentinels !== undefined) {
    if (name === undefined) throw invalidOptions(plugin, 'sentinels need the name of the master group they monitor (name)');
    return { sentinels, name, password, sentinelPassword };
  }
  if (cluster !== undefined) {
    // By index, not by value: a node's URL may carry a password.
    const bad = cluster.nodes.findIndex((node) => !/^rediss?:\/\/[^/]+:\d+\/?$/.test(node));
    if (bad >= 0) throw invalidOptions(plugin, `cluster.nodes[${bad}] is not redis://host:port`);
    return { cluster, password };
  }
  if (password !== undefined) throw invalidOptions(plugin, 'password goes with sentinels or cluster; with url, put it in the URL');
  return { url: url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
}
