/** Shared setup for the valve's socket tests: a server with every feature plugin, official clients. */
import { DeepstreamClient } from '@deepstream/client';
import { definePlugin, type PluginEntry, type StoredRecord } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import presence from '@deepstream-ts/plugin-presence';
import rpc from '@deepstream-ts/plugin-rpc';
import storageSqlite from '@deepstream-ts/storage-sqlite';
import valve, { type ValveOptions } from '@deepstream-ts/plugin-permissions-valve';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export { until };

/** Users called `admin-…` log in with `serverData: { role: 'admin' }` (rules see it as `user.data`). */
const roles = definePlugin({
  name: 'test-roles',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      const username = (authData as { username?: unknown }).username;
      if (typeof username !== 'string' || !username.startsWith('admin-')) return undefined;
      return { isValid: true, id: username, serverData: { role: 'admin' } };
    });
  },
});

export interface ValveServer extends TestServer {
  /** What the records plugin has stored, read through its service as another plugin would. */
  stored(name: string): Promise<StoredRecord | undefined>;
  /** Resolves once `count` sessions are subscribed to the event `name` (the client does not say when). */
  subscribed(name: string, count: number): Promise<void>;
}

/** A server with open auth (+ admin roles), events, records on in-memory SQLite, presence, rpc and the valve. */
export async function startValveServer(options: Partial<ValveOptions>, extra: PluginEntry[] = []): Promise<ValveServer> {
  let service: { snapshot(name: string): Promise<StoredRecord | undefined> } | undefined;
  const probe = definePlugin({
    name: 'valve-test-probe',
    version: '1.0.0',
    kernel: '^0.1.0',
    needs: { records: 'required' },
    setup(ctx) {
      service = ctx.use('records');
    },
  });
  const server = await startTestServer({
    plugins: [roles, authOpen, events, storageSqlite.with({ file: ':memory:' }), records, presence, rpc.with({ ackTimeout: 300, responseTimeout: 1000 }), valve.with(options), probe, ...extra],
  });
  // Every node's subscribers when the server is a cluster (DS_TEST_TOPOLOGY), and every node knows them.
  const nodes = server.nodes ?? [server];
  const subscribers = (name: string) => nodes.reduce((sum, node) => sum + node.kernel.service('events')!.subscriptions.subscribers(name).size, 0);
  return Object.assign(server, {
    stored: (name: string) => service!.snapshot(name),
    async subscribed(name: string, count: number) {
      await until(() => subscribers(name) === count, `${count} subscribers of ${name}`);
      await Promise.all(nodes.map((node) => node.kernel.service('cluster')!.barrier()));
    },
  });
}

export type TestClient = DeepstreamClient & { errors: string[] };

const open: Array<{ close(): void }> = [];

/** An official client logged in as `username`; `errors` collects the events of its `error` emitter. */
export async function client(url: string, username: string): Promise<TestClient> {
  const c = Object.assign(new DeepstreamClient(url, { subscriptionInterval: 10, recordReadTimeout: 1000, recordDiscardTimeout: 50 } as never), { errors: [] as string[] });
  c.on('error', (_error: unknown, event: string) => c.errors.push(event));
  open.push(c);
  await c.login({ username });
  return c;
}

/** `record.setDataWithAck` as a promise (its typing also allows the callback form, which returns nothing). */
export function setData(c: TestClient, name: string, ...pathAndData: [unknown] | [string, unknown]): Promise<unknown> {
  const record = c.record as unknown as { setDataWithAck(...args: unknown[]): Promise<unknown> };
  return record.setDataWithAck(name, ...pathAndData);
}

export async function raw(url: string, username: string): Promise<RawClient> {
  const c = await RawClient.login(url, { username });
  open.push(c);
  return c;
}

export function closeClients(): void {
  for (const c of open.splice(0)) c.close();
}
