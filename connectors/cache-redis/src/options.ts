import { Type, type Static } from '@deepstream-ts/core';

const hostAndPort = Type.Object({ host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) });
/** An ioredis cluster seed: `host:port` text, a port, or `{ host?, port? }`. */
const clusterNode = Type.Union([Type.String(), Type.Integer(), Type.Object({ host: Type.Optional(Type.String()), port: Type.Optional(Type.Integer()) })], {
  expected: 'host:port text, a port or { host, port }',
});

export const REDIS_CACHE_OPTIONS = Type.Object({
  /** `standalone` (url), `sentinel` (sentinels + sentinelName) or `cluster` (nodes). */
  mode: Type.Union([Type.Literal('standalone'), Type.Literal('sentinel'), Type.Literal('cluster')], { default: 'standalone' }),
  /** `redis://[:password@]host:port[/db]` for standalone. */
  url: Type.String({ minLength: 1, default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
  /** Sentinel mode: `[{ host, port }]` and the monitored master's name. */
  sentinels: Type.Array(hostAndPort, { default: [] }),
  sentinelName: Type.String({ default: 'mymaster' }),
  /** Cluster mode: seed nodes. */
  nodes: Type.Array(clusterNode, { default: [] }),
  /** Prepended to every key. */
  keyPrefix: Type.String({ default: 'ds:' }),
  /** Seconds a record stays cached after its last write; 0 keeps it until evicted by Redis. */
  ttl: Type.Integer({ minimum: 0, default: 0 }),
  /** Milliseconds to wait for the first connection at start. */
  connectTimeout: Type.Number({ exclusiveMinimum: 0, default: 5000 }),
});

export type RedisCacheOptions = Static<typeof REDIS_CACHE_OPTIONS>;
