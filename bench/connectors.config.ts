import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import cacheMemory from '@deepstream-ts/cache-memory';
import cacheRedis from '@deepstream-ts/cache-redis';
import storagePostgres from '@deepstream-ts/storage-postgres';
import storageSqlite from '@deepstream-ts/storage-sqlite';

/**
 * The servers bench/connectors.ts starts: open authentication and records, on one of two stacks.
 *
 * BENCH_STACK         `sqlite` (default): the embedded SQLite storage + the in-process memory cache,
 *                     as in the default deepstream.config.ts;
 *                     `postgres`: PostgreSQL storage + Redis cache
 * BENCH_SQLITE_FILE   sqlite: the database file (bench/connectors.ts passes one in a temporary
 *                     directory); unset: an in-memory database
 * BENCH_POSTGRES_URL  postgres: the PostgreSQL server (required)
 * BENCH_REDIS_URL     postgres: the Redis server (required)
 *
 * Start it by hand with
 * `BENCH_STACK=postgres BENCH_POSTGRES_URL=… BENCH_REDIS_URL=… node core/bin/deepstream.js start --config bench/connectors.config.ts`.
 */
const stack = process.env.BENCH_STACK ?? 'sqlite';
if (stack !== 'sqlite' && stack !== 'postgres') throw new Error(`BENCH_STACK: expected sqlite or postgres, got "${stack}"`);

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required with BENCH_STACK=postgres`);
  return value;
}

const connectors =
  stack === 'postgres'
    ? [storagePostgres.with({ url: required('BENCH_POSTGRES_URL'), table: 'ds_records' }), cacheRedis.with({ url: required('BENCH_REDIS_URL'), keyPrefix: 'ds:' })]
    : [storageSqlite.with({ file: process.env.BENCH_SQLITE_FILE ?? ':memory:' }), cacheMemory.with({ maxRecords: 100_000, maxBytes: 256 * 1024 * 1024 })];

export default defineConfig({
  port: 6020,
  connection: { path: '/deepstream' },
  // Connectors before the plugins that use them: they close after them at shutdown.
  plugins: [authOpen, ...connectors, records],
});
