import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import storageSqlite from '@deepstream-ts/storage-sqlite';

/**
 * The server bench/records.ts starts: open authentication, records, and SQLite storage.
 *
 * BENCH_SQLITE_FILE  the database file (bench/records.ts passes a file in a temporary directory);
 *                    unset: an in-memory database
 * BENCH_STORAGE      `none`: no storage plugin, records live in the records plugin's memory cache only
 *
 * Start it by hand with `node core/bin/deepstream.js start --config bench/records.config.ts`.
 */
const withStorage = process.env.BENCH_STORAGE !== 'none';

export default defineConfig({
  port: 6020,
  connection: { path: '/deepstream' },
  plugins: [authOpen, ...(withStorage ? [storageSqlite.with({ file: process.env.BENCH_SQLITE_FILE ?? ':memory:' })] : []), records],
});
