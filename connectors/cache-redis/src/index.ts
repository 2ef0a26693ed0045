import { createRequire } from 'node:module';
import { definePlugin } from '@deepstream-ts/core';
import { RedisCache, type RedisCacheOptions } from './redis-cache.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Provides the `cache` service from Redis: standalone, Sentinel or Cluster. */
export const cacheRedis = definePlugin<RedisCacheOptions>({
  name,
  version,
  kernel: '^0.1.0',
  defaults: {
    mode: 'standalone',
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    sentinels: [],
    sentinelName: 'mymaster',
    nodes: [],
    keyPrefix: 'ds:',
    ttl: 0,
    connectTimeout: 5000,
  },
  async setup(ctx) {
    const cache = new RedisCache(ctx.options);
    ctx.onClose(() => cache.close());
    await cache.connect();
    ctx.provide('cache', cache);
    ctx.log.info({ cache: cache.description, keyPrefix: ctx.options.keyPrefix, ttl: ctx.options.ttl }, 'records are cached in Redis');
  },
});

export default cacheRedis;
export { RedisCache, type RedisCacheOptions };
