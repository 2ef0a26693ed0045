import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { PostgresStorage, type PostgresStorageOptions } from './postgres-storage.ts';

/**
 * Provides the `storage` service from PostgreSQL. Start-up fails with a message naming the URL
 * (without its password) when the server cannot be reached.
 */
export const storagePostgres = definePlugin<PostgresStorageOptions>({
  package: import.meta.url,
  provides: ['storage'],
  defaults: {
    url: process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    table: 'ds_records',
    tablePerPrefix: false,
    poolSize: 10,
    writeAttempts: 3,
  },
  async setup(ctx) {
    const storage = new PostgresStorage(ctx.options);
    ctx.onClose(() => storage.close());
    await storage.connect();
    ctx.provide('storage', storage);
    ctx.log.info({ url: redactUrl(ctx.options.url), table: ctx.options.table, tablePerPrefix: ctx.options.tablePerPrefix }, 'records are stored in PostgreSQL');
  },
});

export default storagePostgres;
export { PostgresStorage, type PostgresStorageOptions };
