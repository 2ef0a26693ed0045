import { resolve } from 'node:path';
import { definePlugin } from '@deepstream-ts/core';
import { SqliteStorage } from './sqlite-storage.ts';
import { SQLITE_STORAGE_OPTIONS, type SqliteStorageOptions } from './options.ts';

/**
 * Provides the `storage` service from one SQLite file: durable records with nothing to install.
 * A relative `file` is resolved against the config file's directory.
 */
export const storageSqlite = definePlugin<SqliteStorageOptions>({
  package: import.meta.url,
  provides: ['storage'],
  options: SQLITE_STORAGE_OPTIONS,
  setup(ctx) {
    const file = ctx.options.file === ':memory:' ? ':memory:' : resolve(ctx.config.baseDir, ctx.options.file);
    const storage = new SqliteStorage({ file });
    ctx.provide('storage', storage);
    ctx.onClose(() => storage.close());
    ctx.log.info({ file }, 'records are stored in SQLite');
  },
});

export default storageSqlite;
export { SqliteStorage, SQLITE_STORAGE_OPTIONS, type SqliteStorageOptions };
