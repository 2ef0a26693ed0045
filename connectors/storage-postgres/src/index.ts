import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { importCommand } from './import-command.ts';
import { PostgresStorage } from './postgres-storage.ts';
import { POSTGRES_STORAGE_OPTIONS, type PostgresStorageOptions } from './options.ts';

/**
 * Provides the `storage` service from PostgreSQL. Start-up fails with a message naming the URL
 * (without its password) when the server cannot be reached.
 */
export const storagePostgres = definePlugin<PostgresStorageOptions>({
  package: import.meta.url,
  provides: ['storage'],
  options: POSTGRES_STORAGE_OPTIONS,
  commands: { 'import-deepstream': importCommand },
  async setup(ctx) {
    const storage = new PostgresStorage(ctx.options);
    ctx.onClose(() => storage.close());
    await storage.connect();
    ctx.provide('storage', storage);
    ctx.log.info({ url: redactUrl(ctx.options.url), table: ctx.options.table, tablePerPrefix: ctx.options.tablePerPrefix }, 'records are stored in PostgreSQL');
  },
});

export default storagePostgres;
export { PostgresStorage, POSTGRES_STORAGE_OPTIONS, type PostgresStorageOptions };
