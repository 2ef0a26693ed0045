import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { MongodbStorage } from './mongodb-storage.ts';
import { MONGODB_STORAGE_OPTIONS, type MongodbStorageOptions } from './options.ts';

/** Provides the `storage` service from MongoDB (official driver). */
export const storageMongodb = definePlugin<MongodbStorageOptions>({
  package: import.meta.url,
  provides: ['storage'],
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
