import { TOPIC, definePlugin } from '@deepstream-ts/core';
import { RECORDS_OPTIONS, type RecordsOptions } from './options.ts';
import { RecordStore } from './record-store.ts';
import { RecordsService } from './records-service.ts';

/**
 * Records and lists (RECORDS.md): versioned JSON documents, synced to every subscriber and kept
 * through the `cache` and `storage` services. Without a cache connector it keeps an unbounded
 * in-process cache; without a storage connector records live only in that cache.
 */
export const records = definePlugin<RecordsOptions>({
  package: import.meta.url,
  provides: ['records', 'recordReader'],
  // Without a cache connector, an unbounded in-process cache (with no storage it holds the only copy).
  needs: {
    storage: 'optional',
    cache: { default: { use: '@deepstream-ts/cache-memory', options: { maxRecords: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER } } },
    listening: 'optional',
  },
  options: RECORDS_OPTIONS,
  setup(ctx) {
    const storage = ctx.find('storage');
    const cache = ctx.use('cache');
    if (storage === undefined) ctx.log.warn('no storage connector configured: records live in memory only and are lost on restart');
    const store = new RecordStore(cache, storage, ctx.options, ctx.log);
    const service = new RecordsService(ctx, store, ctx.find('listening'));
    ctx.provide('records', service);
    ctx.provide('recordReader', { snapshot: (name) => service.snapshot(name) });
    ctx.claim(TOPIC.RECORD, (session, message, admission) => service.handle(session, message, admission), service.access());
    ctx.hooks.disconnect.tap(ctx.name, (session) => service.forget(session));
    ctx.onClose(service.attachCluster(ctx.use('cluster')));
    ctx.onClose(ctx.use('inspection').addSubscriptions('record', service.subscriptions));
    // Clients are gone by now; let every accepted write reach storage before it closes.
    ctx.onClose(() => service.queues.drain());
    ctx.log.info({ cache: cache.description, storage: storage?.description ?? 'none' }, 'records ready');
  },
});

declare module '@deepstream-ts/core' {
  interface Services {
    /** The records plugin: its subscription registry and write queues (listening, HTTP API). */
    records: RecordsService;
  }
}

export default records;
export { RecordsService, type RecordsOptions };
export { parsePath, setPath, type PathLimits, type PathToken } from './json-path.ts';
