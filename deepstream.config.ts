import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

/**
 * The default server: port 6020, WebSocket at /deepstream, open authentication, events.
 * Every key is documented in core/src/config/options.ts; see README.md for the full format.
 */
export default defineConfig({
  port: 6020,
  connection: {
    path: '/deepstream',
  },
  plugins: [authOpen, events],
});
