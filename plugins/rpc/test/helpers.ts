/** Shared setup for the RPC suites: one server per suite, clients closed after each test. */
import { after, afterEach, before } from 'node:test';
import { DeepstreamClient } from '@deepstream/client';
import { RPC_ACTION, TOPIC, definePlugin, type DeepstreamConfig, type JSONValue, type KernelOptions, type Message, type PluginEntry } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import rpc, { type RpcOptions, type RpcView } from '@deepstream-ts/plugin-rpc';

/** Logs a user in by `username` with the clientData `clientDataOf(username)`, so that there is something to forward. */
export function clientDataAuth(clientDataOf: (username: string) => JSONValue): PluginEntry {
  return definePlugin({
    name: 'client-data-auth',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
        const username = (authData as { username?: string }).username;
        return username === undefined ? undefined : { isValid: true, id: username, clientData: clientDataOf(username) };
      });
    },
  });
}

/** Fast timers, so that timeout tests take a fraction of a second. */
export const FAST: Partial<RpcOptions> = { ackTimeout: 150, responseTimeout: 400 };

export interface RpcServer extends TestServer {
  /**
   * The plugin's service, taken through the service directory as any other plugin would; when the
   * server is several nodes (DS_TEST_TOPOLOGY), its stats are the sums over all of them.
   */
  service: RpcView;
}

const STAT_KEYS = ['providedNames', 'providerSessions', 'pendingCalls', 'trackedRequestors', 'trackedProviders'] as const;

/**
 * Starts a server with the RPC plugin (with `options`) and open auth. `extra` plugins come first,
 * so that an extra authentication strategy answers before open auth does.
 */
export async function startRpcServer(options: Partial<RpcOptions> = FAST, extra: PluginEntry[] = [], config: DeepstreamConfig = {}, kernel: KernelOptions = {}): Promise<RpcServer> {
  const services: RpcView[] = [];
  const probe = definePlugin({
    name: 'rpc-test-probe',
    version: '1.0.0',
    kernel: '^0.1.0',
    needs: { rpc: 'required' },
    setup(ctx) {
      services.push(ctx.use('rpc'));
    },
  });
  const server = await startTestServer({ ...config, plugins: [...extra, authOpen, rpc.with(options), probe] }, kernel);
  const service: RpcView = {
    get stats() {
      const sum = Object.fromEntries(STAT_KEYS.map((key) => [key, 0])) as Record<(typeof STAT_KEYS)[number], number>;
      for (const { stats } of services) for (const key of STAT_KEYS) sum[key] += stats[key];
      return sum;
    },
  };
  return Object.assign(server, { service });
}

const open: Array<{ close(): void }> = [];

/**
 * One server per suite (`describe`); clients opened by a test are closed after it, and the next
 * test starts once the server holds nothing of them (a late unprovide would otherwise count there).
 */
export function useServer(options: Partial<RpcOptions> = FAST, extra: PluginEntry[] = []): () => RpcServer {
  let server: RpcServer;
  before(async () => {
    server = await startRpcServer(options, extra);
  });
  afterEach(async () => {
    closeClients();
    await drained(server);
  });
  after(() => server.stop());
  return () => server;
}

export function closeClients(): void {
  for (const c of open.splice(0)) c.close();
}

/** An official client, logged in; `errors` collects the events of its `error` emitter. */
export async function client(url: string, username?: string): Promise<DeepstreamClient & { errors: string[] }> {
  const c = Object.assign(new DeepstreamClient(url, { subscriptionInterval: 10 }), { errors: [] as string[] });
  c.on('error', (_error: unknown, event: string) => c.errors.push(event));
  open.push(c);
  await c.login(username ? { username } : {});
  return c;
}

export async function raw(url: string, authData: object = {}): Promise<RawClient> {
  const c = await RawClient.login(url, authData);
  open.push(c);
  return c;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export { until };

/**
 * Waits until exactly `count` RPC names have a provider (the client sends PROVIDE in batches),
 * counted per node, and every node knows it (a cluster barrier; nothing to wait for on one node).
 */
export async function providedNames(server: RpcServer, count: number): Promise<void> {
  await until(() => server.service.stats.providedNames === count, `${count} RPC names are provided`);
  await clusterSettled(server);
}

/** Waits until `count` sessions provide something, and every node knows it (see providedNames). */
export async function providerSessions(server: RpcServer, count: number, what = `${count} provider sessions`): Promise<void> {
  await until(() => server.service.stats.providerSessions === count, what);
  await clusterSettled(server);
}

/** Every node has received what every other node sent so far (at once on a single node). */
export async function clusterSettled(server: TestServer): Promise<void> {
  await Promise.all((server.nodes ?? [server]).map((node) => node.kernel.service('cluster')!.barrier()));
}

/** Every count of the plugin back to zero: nothing left behind. */
export async function drained(server: RpcServer): Promise<void> {
  await until(() => Object.values(server.service.stats).every((n) => n === 0), `the RPC plugin holds nothing (${JSON.stringify(server.service.stats)})`);
}

// Raw protocol shorthands.

export function provide(c: RawClient, names: string[], correlationId = 'p1'): void {
  c.send({ topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names, correlationId });
}

export async function provided(c: RawClient, names: string[], correlationId = 'p1'): Promise<void> {
  provide(c, names, correlationId);
  await c.next((m) => m.isAck === true && m.correlationId === correlationId);
}

export function rpcMessage(action: RPC_ACTION, fields: Partial<Message> = {}): Message {
  return { topic: TOPIC.RPC, action, ...fields };
}

export const isAction = (action: RPC_ACTION) => (m: Message) => m.topic === TOPIC.RPC && m.action === action;

/**
 * Which of `clients` receives a message matching `match` first; the message is taken from its
 * queue. (Racing `next()` calls would leave waiters behind that swallow later messages.)
 */
export async function firstToReceive(clients: RawClient[], match: (m: Message) => boolean): Promise<{ client: RawClient; message: Message }> {
  let found: RawClient | undefined;
  await until(() => (found = clients.find((c) => c.received.some(match))) !== undefined, 'one of the clients receives the message');
  const client = found as RawClient;
  return { client, message: await client.next(match) };
}
