import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { MongodbStorage, type MongodbStorageOptions } from './mongodb-storage.ts';

/** Provides the `storage` service from MongoDB (official driver). */
export const storageMongodb = definePlugin<MongodbStorageOptions>({
  package: import.meta.url,
  provides: ['storage'],
  defaults: {
    url: process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017',
    database: 'deepstream',
    collection: 'records',
    collectionPerPrefix: false,
    serverSelectionTimeout: 5000,
  },
  async setup(ctx) {
    const storage = new MongodbStorage(ctx.options);
    await storage.connect();
    ctx.onClose(() => storage.close());
    ctx.provide('storage', storage);
    ctx.log.info({ url: redactUrl(ctx.options.url), database: ctx.options.database }, 'records are stored in MongoDB');
  },
});

export default storageMongodb;
export { MongodbStorage, type MongodbStorageOptions };
