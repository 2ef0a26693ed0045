import { definePlugin } from '@deepstream-ts/core';
import { RedisCache, type RedisCacheOptions } from './redis-cache.ts';

/** Provides the `cache` service from Redis: standalone, Sentinel or Cluster. */
export const cacheRedis = definePlugin<RedisCacheOptions>({
  package: import.meta.url,
  provides: ['cache'],
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
