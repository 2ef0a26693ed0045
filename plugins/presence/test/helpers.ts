import { after, afterEach, before } from 'node:test';
import { DeepstreamClient } from '@deepstream/client';
import { CONNECTION_ACTION, PRESENCE_ACTION, TOPIC, definePlugin, type DeepstreamConfig, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import type { Presence } from '@deepstream-ts/plugin-presence';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The official client batches subscriptions for `subscriptionInterval` (100 ms by default). */
export const settle = () => pause(250);

/**
 * Resolves once the server has handled every presence subscription `c` made so far: the client
 * flushes its batch after `subscriptionInterval`, and a query sent after that is answered after it.
 */
export async function synced(c: DeepstreamClient): Promise<void> {
  await pause(CLIENT_OPTIONS.subscriptionInterval + 30);
  await c.presence.getAll();
}

/**
 * Small client timeouts, so that a missing ack shows up as an ACK_TIMEOUT warning within a test.
 * Native timers: unless told so explicitly the client polls its timers every 50 ms, so its
 * subscription batch would leave at an unpredictable time and `synced` could overtake it.
 */
export const CLIENT_OPTIONS = { subscriptionTimeout: 500, subscriptionInterval: 50, nativeTimerRegistry: true };

const open: Array<{ close(): void }> = [];

export async function client(url: string, username?: string, options: object = {}): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(url, { ...CLIENT_OPTIONS, ...options });
  open.push(c);
  await c.login(username === undefined ? {} : { username });
  return c;
}

export async function raw(url: string, username?: string): Promise<RawClient> {
  const c = await RawClient.login(url, username === undefined ? {} : { username });
  open.push(c);
  return c;
}

/** Closes every client opened since the last call. */
export function closeClients(): void {
  for (const c of open.splice(0)) c.close();
}

/** Counts every node has the same view of; the others are per node. */
const CLUSTER_WIDE = new Set(['onlineUsers', 'occupiedRooms']);

/**
 * A plugin that hands the presence service to the test (plugins talk through services only). When
 * the server is several nodes (DS_TEST_TOPOLOGY), `service()` answers queries from the first and
 * its stats combine all of them: per-node counts summed, cluster-wide ones the largest view.
 */
export function probe(): { plugin: ReturnType<typeof definePlugin>; service(): Presence; each(): readonly Presence[] } {
  const services: Presence[] = [];
  const plugin = definePlugin({
    name: 'presence-probe',
    version: '1.0.0',
    kernel: '^0.1.0',
    needs: { presence: 'required' },
    setup(ctx) {
      services.push(ctx.use('presence'));
    },
  });
  const combined = (): Presence => {
    const first = services[0]!;
    if (services.length === 1) return first;
    return {
      isOnline: (user) => first.isOnline(user),
      onlineUsers: () => first.onlineUsers(),
      roomMembers: (room) => first.roomMembers(room),
      get stats() {
        const all = services.map((service) => service.stats as unknown as Record<string, number>);
        const keys = Object.keys(all[0]!);
        return Object.fromEntries(keys.map((key) => [key, CLUSTER_WIDE.has(key) ? Math.max(...all.map((s) => s[key]!)) : all.reduce((sum, s) => sum + s[key]!, 0)])) as unknown as Presence['stats'];
      },
    };
  };
  return {
    plugin,
    service: () => {
      if (services.length === 0) throw new Error('the presence probe was not set up');
      return combined();
    },
    /** Every node's own service, in node order. */
    each: () => services,
  };
}

/**
 * One server per suite; clients opened by a test are closed after it, and the next test starts once
 * the server has seen them all go (a late leave would otherwise reach the next test's subscribers).
 */
export function useServer(config: DeepstreamConfig): () => TestServer {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(config);
  });
  afterEach(async () => {
    closeClients();
    await eventually(() => (server.nodes ?? [server]).every((node) => node.kernel.sessions.size === 0), 5000);
  });
  after(() => server.stop());
  return () => server;
}

/** Polls until `check` holds (disconnects reach the server a little after `close()`). */
export async function eventually(check: () => boolean, timeout = 2000, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeout} ms: ${check.toString()}${state === undefined ? '' : `; state: ${JSON.stringify(state())}`}`);
    }
    await pause(10);
  }
}

/** Collects the official client's console warnings (ACK_TIMEOUT and friends) during a suite. */
export function captureClientWarnings(): string[] {
  const warnings: string[] = [];
  const original = console.warn;
  before(() => {
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  });
  after(() => {
    console.warn = original;
  });
  return warnings;
}

export const isPresence = (action: PRESENCE_ACTION) => (m: Message) => m.topic === TOPIC.PRESENCE && m.action === action;

/** Sends PING every `interval` ms, as a live client does; returns the stop function. */
export function keepAlive(c: RawClient, interval: number): () => void {
  const timer = setInterval(() => c.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING }), interval);
  return () => clearInterval(timer);
}
