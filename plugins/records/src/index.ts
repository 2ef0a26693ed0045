import { createRequire } from 'node:module';
import { TOPIC, definePlugin } from '@deepstream-ts/core';
import { MemoryCache } from '@deepstream-ts/cache-memory';
import { RECORDS_OPTIONS, type RecordsOptions } from './options.ts';
import { RecordStore } from './record-store.ts';
import { RecordsService } from './records-service.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/**
 * Records and lists (RECORDS.md): versioned JSON documents, synced to every subscriber and kept
 * through the `cache` and `storage` services. Without a cache connector it keeps an unbounded
 * in-process cache; without a storage connector records live only in that cache.
 */
export const records = definePlugin<RecordsOptions>({
  name,
  version,
  kernel: '^0.1.0',
  options: RECORDS_OPTIONS,
  setup(ctx) {
    let service: RecordsService | undefined;
    ctx.claim(TOPIC.RECORD, (session, message) => service!.handle(session, message));
    // Connectors are plugins too; whichever provides storage and cache is set up by now.
    ctx.hooks.boot.tap(ctx.name, () => {
      const storage = ctx.find('storage');
      let cache = ctx.find('cache');
      if (cache === undefined) {
        cache = new MemoryCache({ maxRecords: Infinity, maxBytes: Infinity });
        ctx.onClose(() => cache!.close());
      }
      if (storage === undefined) ctx.log.warn('no storage connector configured: records live in memory only and are lost on restart');
      const store = new RecordStore(cache, storage, ctx.options, ctx.log);
      service = new RecordsService(ctx, store);
      ctx.provide('records', service);
      const listening = ctx.find('listening');
      if (listening !== undefined) service.listeners = listening.forTopic('record', service.subscriptions);
      const queues = service.queues;
      ctx.onClose(service.attachCluster(ctx.use('cluster')));
      // Clients are gone by now; let every accepted write reach storage before it closes.
      ctx.onClose(() => queues.drain());
      ctx.log.info({ cache: cache.description, storage: storage?.description ?? 'none' }, 'records ready');
    });
    ctx.hooks.disconnect.tap(ctx.name, (session) => service?.forget(session));
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
