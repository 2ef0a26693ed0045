import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import rpc from '@deepstream-ts/plugin-rpc';

/** The server bench/rpc.ts starts: open auth and RPC with its defaults (port and log level come from flags). */
export default defineConfig({
  plugins: [authOpen, rpc],
});
