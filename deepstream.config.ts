import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import presence from '@deepstream-ts/plugin-presence';
import rpc from '@deepstream-ts/plugin-rpc';
import listening from '@deepstream-ts/plugin-listening';
import httpApi from '@deepstream-ts/plugin-http-api';
import health from '@deepstream-ts/plugin-health';
import cacheMemory from '@deepstream-ts/cache-memory';
import storageSqlite from '@deepstream-ts/storage-sqlite';

/**
 * The default server: port 6020, WebSocket at /deepstream, open authentication, events, records
 * kept in ./data/records.sqlite (so they survive a restart) behind an in-memory LRU, RPC,
 * presence, listening, the HTTP API and the health check. Every key is documented in README.md.
 */
export default defineConfig({
  port: 6020,
  connection: {
    path: '/deepstream',
  },
  plugins: [
    authOpen,
    events,
    // Connectors before the plugins that use them: they close after them at shutdown.
    storageSqlite.with({ file: './data/records.sqlite' }),
    cacheMemory.with({ maxRecords: 100_000, maxBytes: 256 * 1024 * 1024 }),
    records,
    rpc,
    presence,
    listening,
    httpApi, // POST /api, POST /api/auth
    health, // GET /health-check
    // metricsPrometheus from '@deepstream-ts/plugin-metrics-prometheus' adds GET /metrics
  ],
});
