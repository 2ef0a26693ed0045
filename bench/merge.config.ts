import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';

/**
 * The server bench/merge.ts starts: open authentication and records in memory, records named
 * `paths/…` merged by path, every other one under the default `reject`.
 */
export default defineConfig({
  port: 6020,
  connection: { path: '/deepstream' },
  plugins: [authOpen, records.with({ merge: [{ names: 'paths/*', strategy: 'paths' }] })],
});
