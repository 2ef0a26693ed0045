import { definePlugin } from '@deepstream-ts/core';
import { MemoryCache, type MemoryCacheOptions } from './memory-cache.ts';

/** Provides the `cache` service: a bounded in-process LRU in front of storage. */
export const cacheMemory = definePlugin<MemoryCacheOptions>({
  package: import.meta.url,
  provides: ['cache'],
  defaults: { maxRecords: 100_000, maxBytes: 256 * 1024 * 1024 },
  setup(ctx) {
    const cache = new MemoryCache(ctx.options);
    ctx.provide('cache', cache);
    ctx.onClose(() => cache.close());
  },
});

export default cacheMemory;
export { MemoryCache, type MemoryCacheOptions };
