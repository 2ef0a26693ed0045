import { definePlugin } from '@deepstream-ts/core';
import { RedisCache } from './redis-cache.ts';
import { REDIS_CACHE_OPTIONS, type RedisCacheOptions } from './options.ts';

/** Provides the `cache` service from Redis: standalone, Sentinel or Cluster. */
export const cacheRedis = definePlugin<RedisCacheOptions>({
  package: import.meta.url,
  provides: ['cache'],
  options: REDIS_CACHE_OPTIONS,
  async setup(ctx) {
    const cache = new RedisCache(ctx.options);
    ctx.onClose(() => cache.close());
    await cache.connect();
    ctx.provide('cache', cache);
    ctx.log.info({ cache: cache.description, keyPrefix: ctx.options.keyPrefix, ttl: ctx.options.ttl }, 'records are cached in Redis');
  },
});

export default cacheRedis;
export { RedisCache, REDIS_CACHE_OPTIONS, type RedisCacheOptions };
