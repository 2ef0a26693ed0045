import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';

/**
 * Our server as bench/compare.ts runs it, matched to the deepstream 7.0.2 configuration in
 * bench/compare/deepstream-server.cjs: WebSocket at /deepstream, open authentication, no
 * permission plugin (everything allowed), events, records with no storage connector (the records
 * plugin's in-process cache, as deepstream's local cache + no-op storage), RPC and presence.
 * Port and log level (warn) come from the command line; BENCH_WRITE_DELAY sets
 * `connection.writeDelay` (the `delayed` server of the fixed-rate scenario).
 */
export default defineConfig({
  connection: {
    path: '/deepstream',
    writeDelay: Number(process.env.BENCH_WRITE_DELAY ?? 0),
  },
  plugins: [authOpen, events, records, rpc, presence],
});
