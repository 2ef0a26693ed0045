import { createRequire } from 'node:module';
import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { MongodbStorage, type MongodbStorageOptions } from './mongodb-storage.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Provides the `storage` service from MongoDB (official driver). */
export const storageMongodb = definePlugin<MongodbStorageOptions>({
  name,
  version,
  kernel: '^0.1.0',
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
