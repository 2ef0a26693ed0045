import { createRequire } from 'node:module';
import { definePlugin } from '@deepstream-ts/core';
import { MemoryCache } from './memory-cache.ts';
import { MEMORY_CACHE_OPTIONS, type MemoryCacheOptions } from './options.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Provides the `cache` service: a bounded in-process LRU in front of storage. */
export const cacheMemory = definePlugin<MemoryCacheOptions>({
  name,
  version,
  kernel: '^0.1.0',
  options: MEMORY_CACHE_OPTIONS,
  setup(ctx) {
    const cache = new MemoryCache(ctx.options);
    ctx.provide('cache', cache);
    ctx.onClose(() => cache.close());
  },
});

export default cacheMemory;
export { MemoryCache, MEMORY_CACHE_OPTIONS, type MemoryCacheOptions };
