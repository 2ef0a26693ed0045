/**
 * Leak test (hardening issue): thousands of official clients, one after another in small groups,
 * each logging in, subscribing to an event and a record, providing an RPC, listening (and
 * becoming the provider of its own subscription), watching presence, making one call, and
 * disconnecting. The server runs in a child process with --expose-gc; after a warm-up its heap is
 * measured after forced collections, and again at the end: the growth must stay within
 * LEAK_BOUND_MB, and every registry the clients touched must be empty again.
 *
 * Each group first waits until the server shows its subscriptions, providers and listeners, so
 * that the cycles really went through the registries before they disconnect.
 * Knobs: LEAK_CYCLES (clients in all), LEAK_GROUP (clients at once), LEAK_BOUND_MB.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeepstreamClient } from '@deepstream/client';
import { officialClient, within } from './helpers/healthy-clients.ts';
import { describeExit, startServerProcess, type ServerProcess, type ServerStats } from './helpers/server-process.ts';

const CYCLES = Number(process.env.LEAK_CYCLES ?? 3000);
/** At most RECORDS, so that the clients of a group use distinct records. */
const GROUP = Number(process.env.LEAK_GROUP ?? 25);
const WARM_UP = 10 * GROUP;
const BOUND_MB = Number(process.env.LEAK_BOUND_MB ?? 10);
/**
 * Records are shared by many cycles: a subscription creates a missing record, and the records
 * plugin keeps every record in its memory cache (unbounded without a cache connector), which is
 * storage, not a leak.
 */
const RECORDS = 50;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;

async function until(server: ServerProcess, condition: (s: ServerStats) => boolean, what: string, timeout = 5000): Promise<ServerStats> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const stats = await server.stats();
    if (condition(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(stats)}`);
    await pause(10);
  }
}

/** Everything a client can leave behind, summed: zero once every client is gone. */
function leftovers(s: ServerStats): number {
  const l = [s.eventListeners!, s.recordListeners!];
  return (
    s.sessions + s.eventSubscriptions + s.recordSubscriptions +
    l.reduce((sum, x) => sum + x.patterns + x.providers + x.searches + x.sessions, 0) +
    s.rpc!.providedNames + s.rpc!.providerSessions + s.rpc!.pendingCalls + s.rpc!.trackedRequestors + s.rpc!.trackedProviders +
    s.presence!.onlineUsers + s.presence!.connections + s.presence!.everyoneSubscribers + s.presence!.userSubscriptions
  );
}

/** One client's whole life but its end: it is closed by the group. */
async function live(url: string, i: number): Promise<DeepstreamClient> {
  const c = officialClient(url);
  c.on('error', () => undefined);
  await c.login({ username: `leak-${i}` });
  c.event.subscribe(`leak/event/${i}`, () => undefined);
  c.rpc.provide(`leak/rpc/${i}`, (data, response) => response.send(data));
  // It listens for, and subscribes to, a name of its own: it is offered it and becomes its provider.
  c.event.listen(`^leak/listen/${i}$`, (_name, response) => response.accept());
  c.event.subscribe(`leak/listen/${i}`, () => undefined);
  c.record.listen(`^leak/record-listen/${i % RECORDS}$`, (_name, response) => response.accept());
  c.presence.subscribe(() => undefined);
  const record = c.record.getRecord(`leak/record/${i % RECORDS}`);
  c.record.getRecord(`leak/record-listen/${i % RECORDS}`);
  await record.whenReady();
  return c;
}

describe('leak: connect, login, subscribe, provide, listen, disconnect', { timeout: 115_000 }, () => {
  let server: ServerProcess;
  before(async () => {
    // The valve caches one rule selection per name, bounded by count: keep that bound small here,
    // so that a full cache (which is not a leak) does not use up the heap bound.
    server = await startServerProcess({ valve: { maxCachedSelections: 500 } });
  });
  after(() => server?.stop());

  async function group(first: number, size: number): Promise<void> {
    const clients = await within(Promise.all(Array.from({ length: size }, (_, k) => live(server.url, first + k))), 10_000, `group ${first} logging in`);
    // The client batches subscriptions: wait until the server holds all of this group's.
    await until(
      server,
      (s) =>
        s.eventSubscriptions >= 2 * size && s.recordSubscriptions >= 2 * size && s.rpc!.providedNames >= size &&
        s.eventListeners!.providers >= size && s.eventListeners!.patterns >= size &&
        s.recordListeners!.providers >= size && s.recordListeners!.patterns >= size &&
        s.presence!.everyoneSubscribers >= size,
      `group ${first} is subscribed, providing and listening`,
    );
    // One call each, to the next client's provider: calls in flight are tracked and then dropped.
    const answers = await within(
      Promise.all(clients.map((c, k) => c.rpc.make(`leak/rpc/${first + ((k + 1) % size)}`, { k }))),
      5000,
      `group ${first}'s RPC calls`,
    );
    assert.deepEqual(answers[0], { k: 0 });
    for (const c of clients) c.close();
    await until(server, (s) => s.sessions === 0, `group ${first} is disconnected`);
  }

  it(`${CYCLES} clients leave the heap within ${BOUND_MB} MB of the warm-up and every registry empty`, async (t) => {
    const started = performance.now();
    let cycle = 0;
    for (; cycle < WARM_UP; cycle += GROUP) await group(cycle, GROUP);
    await until(server, (s) => leftovers(s) === 0, 'every registry is empty after the warm-up');
    const baseline = await server.heap();

    for (; cycle < CYCLES; cycle += GROUP) await group(cycle, Math.min(GROUP, CYCLES - cycle));
    const empty = await until(server, (s) => leftovers(s) === 0, 'every registry is empty');
    assert.equal(leftovers(empty), 0);
    const final = await server.heap();
    const grown = (final - baseline) / MB;
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`${cycle} cycles in ${seconds.toFixed(1)} s; heap after warm-up ${(baseline / MB).toFixed(1)} MB, at the end ${(final / MB).toFixed(1)} MB (${grown >= 0 ? '+' : ''}${grown.toFixed(2)} MB)`);
    assert.ok(server.alive(), describeExit(server));
    assert.deepEqual(server.faults, []);
    assert.ok(grown < BOUND_MB, `the heap grew by ${grown.toFixed(2)} MB over ${cycle - WARM_UP} cycles (bound ${BOUND_MB} MB)`);
  });
});
