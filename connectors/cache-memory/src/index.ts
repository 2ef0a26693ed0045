import { definePlugin } from '@deepstream-ts/core';
import { MemoryCache } from './memory-cache.ts';
import { MEMORY_CACHE_OPTIONS, type MemoryCacheOptions } from './options.ts';

/** Provides the `cache` service: a bounded in-process LRU in front of storage. */
export const cacheMemory = definePlugin<MemoryCacheOptions>({
  package: import.meta.url,
  provides: ['cache'],
  options: MEMORY_CACHE_OPTIONS,
  setup(ctx) {
    const cache = new MemoryCache(ctx.options);
    ctx.provide('cache', cache);
    ctx.onClose(() => cache.close());
  },
});

export default cacheMemory;
export { MemoryCache, MEMORY_CACHE_OPTIONS, type MemoryCacheOptions };
