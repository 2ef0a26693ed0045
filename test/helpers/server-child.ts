/**
 * The server of the fuzz and leak tests, run as a child process by `server-process.ts` so that a
 * crash shows up as an exit (with its stderr) instead of taking the test runner down, and so that
 * the heap it reports is the server's alone.
 *
 * Every feature plugin is configured: open auth, events, records on in-memory SQLite, RPC,
 * presence, listening, Valve permissions (rules that read the payload, the stored record, other
 * records and path variables) and the metrics plugin (which turns on the inbound/outbound hooks).
 *
 * It talks to the parent over IPC:
 *   child → parent  { type: 'ready', port }                      listening
 *                   { type: 'fault', kind, error }               an unhandled rejection or uncaught exception; the child exits
 *                   { type: 'hook-error', hook, plugin, error }  a plugin threw inside a hook (the kernel carried on)
 *   parent → child  { id, command: 'stats' | 'heap' }  →  { id, result }
 * Options come as JSON in argv[2]: `{ valve?: Partial<ValveOptions> }`.
 */
import { pino } from 'pino';
import { Kernel, definePlugin } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import listening from '@deepstream-ts/plugin-listening';
import metrics from '@deepstream-ts/plugin-metrics-prometheus';
import storageSqlite from '@deepstream-ts/storage-sqlite';
import valve from '@deepstream-ts/plugin-permissions-valve';
import type { ServerStats } from './server-process.ts';

/** Rules that make the valve do real work: payload and stored data, `_()` lookups, path variables, user ids. */
export const FUZZ_PERMISSIONS = {
  record: {
    '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true },
    'inc/*': { write: '!oldData.value || data.value > oldData.value' },
    'owned/$owner': { create: 'user.id === $owner', write: 'user.id === $owner && (oldData === null || oldData.owner === $owner)' },
    'stock/$id': { write: "_('item/' + data.itemId).stock > 0" },
    'private/*': { create: false, read: false, write: false, delete: false },
    'sum/*': { write: 'data.a + data.b <= 100' },
  },
  event: {
    '*': { publish: true, subscribe: true, listen: true },
    number: { publish: 'data > 10' },
    'place/$city': { publish: '$city.toLowerCase() === data.address.city.toLowerCase()' },
    'secret/*': { publish: false, subscribe: false },
    'chat/*/messages/*': { publish: "typeof data.text === 'string'" },
  },
  rpc: {
    '*': { provide: true, request: true },
    'full/*': { request: "typeof data.firstname === 'string'" },
    'admin/*': { provide: "user.id === 'backend'", request: false },
  },
  presence: { '*': { allow: "user.id !== 'hidden'" } },
};

const options = JSON.parse(process.argv[2] ?? '{}') as { valve?: Record<string, unknown> };
const send = (message: object) => process.send?.(message);

// Last resort, for the tests only: report what would otherwise end the process, then end it, so
// that the parent sees the exit and the reason even if the kernel someday swallows these.
for (const kind of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(kind, (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${kind}: ${text}\n`);
    send({ type: 'fault', kind, error: text });
    process.exitCode = 70;
    setTimeout(() => process.exit(70), 50);
  });
}

const hookErrors = definePlugin({
  name: 'test-hook-errors',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.error.tap(ctx.name, ({ hook, plugin, error }) => {
      send({ type: 'hook-error', hook, plugin, error: error instanceof Error ? error.message : String(error) });
    });
  },
});

const prototypeKeys = () => [...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Array.prototype)].sort();
const baselinePrototype = new Set(prototypeKeys());

const kernel = new Kernel(
  {
    host: '127.0.0.1',
    port: 0,
    plugins: [
      authOpen,
      events,
      storageSqlite.with({ file: ':memory:' }),
      records,
      rpc.with({ ackTimeout: 300, responseTimeout: 1000 }),
      presence,
      listening,
      valve.with({ permissions: FUZZ_PERMISSIONS, ...options.valve }),
      metrics.with({ processMetrics: false }),
      hookErrors,
    ],
  },
  // Bad input is logged at warn for every frame; only errors matter here, and they go to stderr.
  { logger: pino({ level: 'error', base: undefined }, pino.destination(2)) },
);
await kernel.start();

/** Sizes of every registry a client can grow; all must be back to zero once the clients are gone. */
function stats(): ServerStats {
  const eventsService = kernel.service('events');
  const recordsService = kernel.service('records');
  const listenerStats = (handler: unknown) => (handler as { stats?: ServerStats['eventListeners'] } | undefined)?.stats;
  const presenceStats = kernel.service('presence')?.stats;
  return {
    sessions: kernel.sessions.size,
    eventSubscriptions: eventsService === undefined ? 0 : [...eventsService.subscriptions.names()].length,
    recordSubscriptions: recordsService === undefined ? 0 : [...recordsService.subscriptions.names()].length,
    eventListeners: listenerStats(eventsService?.listeners),
    recordListeners: listenerStats(recordsService?.listeners),
    rpc: kernel.service('rpc')?.stats,
    presence: presenceStats === undefined ? undefined : { ...presenceStats },
    prototypeAdditions: prototypeKeys().filter((key) => !baselinePrototype.has(key)),
  };
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start the child with --expose-gc');
  // Twice: the first collection can leave weakly held objects that only the second frees.
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

process.on('message', (request: { id: number; command: 'stats' | 'heap' }) => {
  const result = request.command === 'stats' ? stats() : heap();
  send({ id: request.id, result });
});
// An orphan (the test runner died) must not keep a port and a core.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  void kernel.stop().then(() => process.exit(0));
});
send({ type: 'ready', port: kernel.address.port });
