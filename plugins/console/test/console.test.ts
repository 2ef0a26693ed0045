/**
 * The console's server side with official clients over real sockets: who gets in, the reserved
 * prefix, the live figures, the session list, disconnecting, the action log, the HTTP routes, and
 * a two-node cluster seen from one node.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { CONNECTION_ACTION, TOPIC, definePlugin, type DeepstreamConfig } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import listening from '@deepstream-ts/plugin-listening';
import valve from '@deepstream-ts/plugin-permissions-valve';
import operatorConsole, { HELLO_RPC, STATS_EVENT, disconnectRpc, sessionsRpc, type NodeFigures, type SessionRow } from '@deepstream-ts/plugin-console';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits for `check` to hold, up to `timeout` ms (then the assertion after it says what is missing). */
async function until(check: () => boolean, timeout = 3000): Promise<void> {
  for (const deadline = Date.now() + timeout; !check() && Date.now() < deadline; ) await pause(20);
}
const TOKEN = 'a-very-secret-operator-token';

/** Passwords are `<username>-pw`: a strategy that really checks, unlike open authentication. */
const passwords = definePlugin({
  name: 'test-passwords',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      const { username, password } = authData as { username?: string; password?: string };
      if (typeof username !== 'string') return undefined;
      return password === `${username}-pw` ? { isValid: true, id: username } : { isValid: false };
    });
  },
});

const clients: DeepstreamClient[] = [];
async function login(url: string, authData: Record<string, string>): Promise<DeepstreamClient> {
  const client = new DeepstreamClient(url, { maxReconnectAttempts: 0 } as never);
  client.on('error', () => undefined);
  clients.push(client);
  await client.login(authData);
  return client;
}
const as = (url: string, user: string) => login(url, { username: user, password: `${user}-pw` });

/** The next figures from `server` (any node when absent). */
function nextFigures(client: DeepstreamClient, server?: string, timeout = 3000): Promise<NodeFigures> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no figures from ${server ?? 'any node'} within ${timeout} ms`)), timeout);
    const handler = (figures: NodeFigures) => {
      if (server !== undefined && figures.server !== server) return;
      clearTimeout(timer);
      client.event.unsubscribe(STATS_EVENT, handler as never);
      resolve(figures);
    };
    client.event.subscribe(STATS_EVENT, handler as never);
  });
}

const make = <T>(client: DeepstreamClient, name: string, data: unknown): Promise<T> =>
  new Promise((resolve, reject) => client.rpc.make(name, data as never, (error, result) => (error ? reject(new Error(String(error))) : resolve(result as T))));

const consoleConfig = (extra: Partial<DeepstreamConfig> = {}, plugins: DeepstreamConfig['plugins'] = []): DeepstreamConfig => ({
  serverName: 'node-a',
  ...extra,
  plugins: [passwords, listening, events, records, rpc, presence, operatorConsole.with({ operators: ['alice'], operatorToken: TOKEN, interval: 200 }), ...(plugins ?? [])],
});

after(() => {
  for (const client of clients) client.close();
});

describe('console: who may use it', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(consoleConfig());
  });
  after(() => server.stop());

  it('refuses to start when it names no operator', async () => {
    await assert.rejects(startTestServer({ plugins: [passwords, events, rpc, operatorConsole] }), /DS_PLUGIN_OPTIONS_INVALID: plugin "@deepstream-ts\/plugin-console": names no operator/);
    await assert.rejects(startTestServer({ plugins: [passwords, events, operatorConsole.with({ operators: ['alice'] })] }), /DS_PLUGIN_DEPENDENCY_MISSING.*@deepstream-ts\/plugin-rpc/);
    await assert.rejects(startTestServer({ plugins: [passwords, events, rpc, operatorConsole.with({ operatorToken: 'short' })] }), (error: Error) => {
      assert.match(error.message, /option "operatorToken" must be a secret of at least 16 characters/);
      assert.doesNotMatch(error.message, /short/, 'the secret is not quoted');
      return true;
    });
  });

  it('denies a normal user every reserved name: figures, RPCs, providing them, emitting on them, records', async () => {
    const bob = await as(server.url, 'bob');
    const errors: string[] = [];
    bob.on('error', (_error: unknown, event: string, topic: string) => errors.push(`${topic} ${event}`));
    const fake: unknown[] = [];
    bob.event.subscribe(STATS_EVENT, (data) => fake.push(data));
    await assert.rejects(make(bob, HELLO_RPC, null), /MESSAGE_DENIED/);
    await assert.rejects(make(bob, sessionsRpc('node-a'), {}), /MESSAGE_DENIED/);
    bob.rpc.provide(disconnectRpc('node-a'), () => undefined);
    bob.record.getRecord(`$console/secret`);

    const alice = await as(server.url, 'alice');
    const seen: NodeFigures[] = [];
    alice.event.subscribe(STATS_EVENT, (figures) => seen.push(figures as unknown as NodeFigures));
    await nextFigures(alice);
    bob.event.emit(STATS_EVENT, { server: 'forged' });
    await nextFigures(alice); // the forged emit, had it got through, would have arrived before this
    await until(() => errors.filter((e) => e.includes('MESSAGE_DENIED')).length >= 4);
    // The official client hands its own emits to its own listeners (until the denied subscription
    // removes them); nothing from the server reached bob.
    assert.deepEqual(fake.filter((data) => (data as { server?: string }).server !== 'forged'), [], 'bob receives no figures');
    assert.ok(seen.length > 0, 'alice does');
    assert.ok(seen.every((figures) => figures.server === 'node-a'), 'and no forged ones');
    assert.ok(errors.filter((e) => e.includes('MESSAGE_DENIED')).length >= 4, errors.join('\n'));
    // alice's hello goes to the console's own provider, not bob's attempt at one
    assert.deepEqual(await make(alice, HELLO_RPC, null), { server: 'node-a', interval: 200 });
  });

  it('lets in the operator token, and refuses a wrong one', async () => {
    const viaToken = await login(server.url, { operatorToken: TOKEN });
    assert.deepEqual(await make(viaToken, HELLO_RPC, null), { server: 'node-a', interval: 200 });
    const wrong = new DeepstreamClient(server.url, { maxReconnectAttempts: 0 } as never);
    wrong.on('error', () => undefined);
    clients.push(wrong);
    await assert.rejects(wrong.login({ operatorToken: 'not-the-token-at-all' }), (error: { reason?: unknown }) => {
      assert.deepEqual(error.reason, { error: 'invalid operator token' });
      return true;
    });
  });

  it('serves the page, redirects to the trailing slash, and guards the snapshot API with the token', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/console/');
    const page = await fetch(`${base}/console/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(await page.text(), /data-websocket-path="\/deepstream"/);
    const bundle = await fetch(`${base}/console/ds.min.js`);
    assert.match(await bundle.text(), /DeepstreamClient/);
    assert.equal((await fetch(`${base}/consolex`)).status, 404);
    assert.equal((await fetch(`${base}/console/../package.json`)).status, 404);
    for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer wrong' }]) {
      const refused = await fetch(`${base}/console/api/snapshot`, { headers });
      assert.equal(refused.status, 401);
      assert.doesNotMatch(await refused.text(), /sessions/);
    }
    await pause(300);
    const snapshot = await fetch(`${base}/console/api/snapshot`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(snapshot.status, 200);
    const body = (await snapshot.json()) as { figures: NodeFigures; sessions: { total: number } };
    assert.equal(body.figures.server, 'node-a');
    assert.ok(body.sessions.total >= 1);
  });
});

describe('console: another path and WebSocket path', () => {
  it('serves the page under its path and tells it where the WebSocket endpoint is', async () => {
    const server = await startTestServer({
      connection: { path: '/realtime' },
      plugins: [passwords, events, rpc, operatorConsole.with({ operators: ['alice'], path: '/ops/console' })],
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const page = await fetch(`${base}/ops/console/`);
      assert.match(await page.text(), /data-websocket-path="\/realtime"/);
      assert.equal((await fetch(`${base}/ops/console/console.js`)).status, 200);
      assert.equal((await fetch(`${base}/console/`)).status, 404);
    } finally {
      await server.stop();
    }
  });
});

describe('console: live figures, sessions, disconnect and the action log', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(consoleConfig());
  });
  after(() => server.stop());

  it('publishes connections, unique users, rates and busiest names, and the features\' gauges', async () => {
    const alice = await as(server.url, 'alice');
    const carol = await as(server.url, 'carol');
    const carol2 = await as(server.url, 'carol');
    carol.event.subscribe('news', () => undefined);
    await carol2.record.getRecord('doc/busy').whenReady();
    await nextFigures(alice); // a fresh interval
    for (let i = 0; i < 5; i++) carol2.event.emit('news', i);
    carol2.record.setData('doc/busy', { n: 1 });
    carol2.rpc.provide('echo', (data, response) => response.send(data));
    await pause(50);
    const figures = await nextFigures(alice);
    assert.equal(figures.connections, 3);
    assert.equal(figures.uniqueUsers, 2, 'carol twice and alice');
    assert.ok(figures.traffic.inPerSecond.event! > 0);
    assert.deepEqual(figures.traffic.busiestEvents[0], { name: 'news', count: 5 });
    assert.equal(figures.traffic.busiestRecords[0]?.name, 'doc/busy');
    const gauge = (name: string, topic?: string) => figures.gauges.find((g) => g.name === name && (topic === undefined || g.labels.topic === topic))?.value;
    assert.equal(gauge('subscriptions', 'event'), 2, "carol's news and alice's figures");
    assert.equal(gauge('subscriptions', 'record'), 1);
    assert.equal(gauge('rpc_provided_names'), 4, "echo, and the console's hello, sessions and disconnect");
    assert.equal(gauge('presence_online_users'), 2);
    const bytes = JSON.stringify(figures).length;
    console.log(`# figures of one node: ${bytes} bytes of JSON per interval`);
    assert.ok(bytes < 4096, `figures are ${bytes} bytes: every node sends them to the cluster each interval`);
  });

  it('lists and searches sessions with user, address, transport, since and subscriptions', async () => {
    const alice = await as(server.url, 'alice');
    const dave = await as(server.url, 'dave');
    dave.event.subscribe('dave/inbox', () => undefined);
    dave.rpc.provide('dave/ask', (_data, response) => response.send('yes'));
    dave.record.listen('dave/.*', () => undefined);
    dave.presence.subscribe('alice', () => undefined);
    await pause(150);
    const all = await make<{ total: number; rows: SessionRow[] }>(alice, sessionsRpc('node-a'), {});
    const row = all.rows.find((r) => r.user === 'dave');
    assert.ok(row, JSON.stringify(all));
    assert.equal(row.address, '127.0.0.1');
    assert.equal(row.transport, 'websocket');
    assert.ok(Date.now() - row.since < 10_000);
    assert.deepEqual(
      [...row.subscriptions].sort((a, b) => a.kind.localeCompare(b.kind)),
      [
        { kind: 'event', names: ['dave/inbox'] },
        { kind: 'presence', names: ['alice'] },
        { kind: 'record listens', names: ['dave/.*'] },
        { kind: 'rpc provides', names: ['dave/ask'] },
      ],
    );
    assert.ok(all.rows.some((r) => r.user === 'alice' && r.operator));
    assert.ok(!all.rows.some((r) => r.transport === 'console'), "the console's own session is not listed");
    const found = await make<{ total: number; rows: SessionRow[] }>(alice, sessionsRpc('node-a'), { query: 'INBOX' });
    assert.deepEqual(found.rows.map((r) => r.user), ['dave']);
  });

  it('disconnects a session with the reason, and logs who did it', async () => {
    const alice = await as(server.url, 'alice');
    const raw = await RawClient.login(server.url, { username: 'erin', password: 'erin-pw' });
    const frank = await as(server.url, 'frank');
    const states: string[] = [];
    frank.on('connectionStateChanged', (s: string) => states.push(s));
    await pause(100);
    const { rows } = await make<{ rows: SessionRow[] }>(alice, sessionsRpc('node-a'), { query: 'erin' });
    assert.equal(rows.length, 1);
    const result = await make(alice, disconnectRpc('node-a'), { session: rows[0]!.id, reason: 'spamming the chat' });
    assert.deepEqual(result, { disconnected: rows[0]!.id, user: 'erin' });
    const notice = await raw.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ERROR);
    assert.equal(notice.data, JSON.stringify('DISCONNECTED_BY_OPERATOR: spamming the chat'));
    assert.equal(notice.isError, true);
    await raw.closed;

    const frankRow = (await make<{ rows: SessionRow[] }>(alice, sessionsRpc('node-a'), { query: 'frank' })).rows[0]!;
    await make(alice, disconnectRpc('node-a'), { session: frankRow.id });
    await pause(200);
    assert.ok(states.includes('RECONNECTING'), `the official client saw its connection go: ${states.join(' → ')}`);
    await assert.rejects(make(alice, disconnectRpc('node-a'), { session: 'nobody' }), /no session nobody on node-a/);
    await assert.rejects(make(alice, disconnectRpc('node-a'), 'garbage'), /disconnect needs \{ session/);
    assert.deepEqual(await make(alice, HELLO_RPC, null), { server: 'node-a', interval: 200 }, 'still serving after bad input');

    alice.event.emit('announcements', { text: 'maintenance at noon' });
    await alice.record.setDataWithAck('settings/motd', { text: 'hi' });
    await pause(100);
    const actions = server.logs.filter((line) => line.msg === 'operator action');
    assert.ok(actions.some((line) => line.operator === 'alice' && line.action === 'REQUEST' && line.name === disconnectRpc('node-a') && String(line.data).includes('spamming')));
    assert.ok(actions.some((line) => line.operator === 'alice' && line.action === 'EMIT' && line.name === 'announcements'));
    assert.ok(actions.some((line) => line.operator === 'alice' && line.name === 'settings/motd'));
    assert.ok(!actions.some((line) => line.operator !== 'alice'), 'only operators are logged');
    const kick = server.logs.find((line) => line.msg === 'session disconnected from the console' && line.user === 'erin');
    assert.equal(kick?.reason, 'spamming the chat');
  });
});

describe('console: a cluster seen from one node', () => {
  it('shows both nodes, and lists and disconnects sessions on the other one', async () => {
    const hub = clusterMemory.with({ hub: new MemoryHub() });
    const a = await startTestServer(consoleConfig({ serverName: 'node-a' }, [hub]));
    const b = await startTestServer(consoleConfig({ serverName: 'node-b' }, [hub]));
    try {
      const alice = await as(a.url, 'alice');
      const grace = await as(b.url, 'grace');
      const fromB = await nextFigures(alice, 'node-b');
      assert.deepEqual(fromB.peers, ['node-a']);
      assert.equal(fromB.connections, 1);
      const { rows } = await make<{ rows: SessionRow[] }>(alice, sessionsRpc('node-b'), {});
      assert.deepEqual(rows.map((r) => r.user), ['grace']);
      const states: string[] = [];
      grace.on('connectionStateChanged', (s: string) => states.push(s));
      await make(alice, disconnectRpc('node-b'), { session: rows[0]!.id, reason: 'bye' });
      await pause(200);
      assert.ok(states.includes('RECONNECTING'));
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});

describe('console: with a permission plugin that denies almost everything', () => {
  let server: TestServer;
  before(async () => {
    const permissions = {
      record: {
        '*': { create: true, read: true, write: false, delete: false, listen: false, notify: false },
        'settings/*': { create: "user.id === 'alice'", read: true, write: "user.id === 'alice'", delete: false, listen: false, notify: false },
      },
      event: { '*': { publish: false, subscribe: false, listen: false } },
      rpc: { '*': { provide: false, request: false } },
      presence: { '*': { allow: false } },
    };
    server = await startTestServer(consoleConfig({}, [valve.with({ permissions })]));
  });
  after(() => server.stop());

  it('still serves operators on the reserved names, and holds them to the rules elsewhere', async () => {
    const alice = await as(server.url, 'alice');
    const figures = await nextFigures(alice);
    assert.equal(figures.server, 'node-a', 'the rules do not decide the reserved names');
    assert.equal((await make<{ total: number }>(alice, sessionsRpc('node-a'), {})).total, 1);
    const write = (client: DeepstreamClient, name: string, data: object) => client.record.setDataWithAck(name, data as never) as Promise<unknown>;
    await write(alice, 'settings/motd', { text: 'allowed for alice' });
    await assert.rejects(write(alice, 'doc/other', { text: 'denied to everyone' }), /MESSAGE_DENIED/);
    const bob = await as(server.url, 'bob');
    await assert.rejects(write(bob, 'settings/motd', { text: 'bob may not' }), /MESSAGE_DENIED/);
    await assert.rejects(make(bob, HELLO_RPC, null), /MESSAGE_DENIED/);
  });
});
