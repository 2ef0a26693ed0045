import { createRequire } from 'node:module';
import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { MongodbStorage } from './mongodb-storage.ts';
import { MONGODB_STORAGE_OPTIONS, type MongodbStorageOptions } from './options.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Provides the `storage` service from MongoDB (official driver). */
export const storageMongodb = definePlugin<MongodbStorageOptions>({
  name,
  version,
  kernel: '^0.1.0',
  options: MONGODB_STORAGE_OPTIONS,
  async setup(ctx) {
    const storage = new MongodbStorage(ctx.options);
    await storage.connect();
    ctx.onClose(() => storage.close());
    ctx.provide('storage', storage);
    ctx.log.info({ url: redactUrl(ctx.options.url), database: ctx.options.database }, 'records are stored in MongoDB');
  },
});

export default storageMongodb;
export { MongodbStorage, MONGODB_STORAGE_OPTIONS, type MongodbStorageOptions };
