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
    ctx.onClose(
      ctx.use('inspection').addGauges(
        { name: 'cached_records', help: 'Records held in the in-process record cache', read: () => cache.size.records },
        { name: 'cache_bytes', help: 'Bytes of record data held in the in-process record cache', read: () => cache.size.bytes },
      ),
    );
    ctx.onClose(() => cache.close());
  },
});

export default cacheMemory;
export { MemoryCache, MEMORY_CACHE_OPTIONS, type MemoryCacheOptions };
