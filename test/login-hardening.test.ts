/**
 * Bounded, throttled authentication (hardening issue, items 2 and 9), against real servers:
 *   - one login check at a time per connection, never more than maxAuthAttempts in all, nothing
 *     checked after the socket closed (pipelined AUTH frames, counted at the strategies);
 *   - the login backoff per username and per address, the same over WebSocket, the HTTP API's
 *     sessions and /api/auth, and never for a test suite logging hundreds of users in;
 *   - the cap on connections per address that are not logged in.
 * Every attack also checks that a healthy client is still served within LATENCY_BOUND_MS.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { DeepstreamClient } from '@deepstream/client';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  TOPIC,
  binaryCodec,
  definePlugin,
  type DeepstreamConfig,
  type Message,
} from '@deepstream-ts/core';
import authFile, { DEFAULT_HASH, hashPassword } from '@deepstream-ts/plugin-auth-file';
import authHttp from '@deepstream-ts/plugin-auth-http';
import events from '@deepstream-ts/plugin-events';
import httpApi from '@deepstream-ts/plugin-http-api';

const LATENCY_BOUND_MS = 500;
const until = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Everything a test opens, closed even when it fails.
const rawClients: RawClient[] = [];
const sockets: WebSocket[] = [];
const officialClients: DeepstreamClient[] = [];
const servers: TestServer[] = [];
afterEach(() => {
  for (const c of rawClients.splice(0)) c.close();
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const c of officialClients.splice(0)) c.close();
});
after(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function server(config: DeepstreamConfig): Promise<TestServer> {
  const s = await startTestServer(config);
  servers.push(s);
  return s;
}

function track(client: RawClient): RawClient {
  client.ws.on('error', () => undefined); // resets are expected; `closed` reports them
  rawClients.push(client);
  return client;
}

function official(url: string): DeepstreamClient {
  const c = new DeepstreamClient(url, { maxReconnectAttempts: 0 } as never);
  c.on('error', () => undefined);
  officialClients.push(c);
  return c;
}

/** What the official client's login rejects with (`reason`); fails if the login is accepted. */
async function refusal(c: DeepstreamClient, authData: Record<string, unknown>): Promise<unknown> {
  try {
    await c.login(authData as never);
  } catch (error) {
    return (error as { reason: unknown }).reason;
  }
  throw new Error(`the login ${JSON.stringify(authData)} was accepted`);
}

/** Records every authData the strategies are asked about, then lets the next strategy decide. */
function countingTap(calls: Array<Record<string, unknown>>) {
  return definePlugin({
    name: 'test-counting-tap',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => void calls.push(authData as Record<string, unknown>));
    },
  });
}

/** Accepts password `right` (id = username) after `delay` ms, refuses anything else after the same delay. */
function slowStrategy(delay: number) {
  return definePlugin({
    name: 'test-slow-strategy',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authenticate.tapPromise(ctx.name, async ({ authData }) => {
        await until(delay);
        const { username, password } = authData as Record<string, unknown>;
        return password === 'right' ? { isValid: true, id: String(username) } : { isValid: false };
      });
    },
  });
}

const isAuth = (m: Message) => m.topic === TOPIC.AUTH;
const isPong = (m: Message) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG;
const authActions = (client: RawClient) => client.received.filter(isAuth).map((m) => m.action);

/** Connects and sends the challenge, then every AUTH request at once, without waiting for answers. */
async function pipelineLogins(s: TestServer, requests: readonly object[]): Promise<RawClient> {
  const client = track(await RawClient.connect(s.url));
  client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: s.url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
  await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
  for (const authData of requests) client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
  return client;
}

/** Milliseconds of a PING → PONG round trip of a logged-in client. */
async function pingRoundTrip(client: RawClient): Promise<number> {
  const started = performance.now();
  client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  await client.next(isPong, 5000);
  return performance.now() - started;
}

/**
 * A socket of our own whose every message is kept from the first byte (RawClient listens only once
 * open, and a message sent at once can arrive with the upgrade). `address` is sent as
 * X-Forwarded-For, which the kernel takes as the remote address with `connection.trustProxy`.
 */
async function socket(s: TestServer, address?: string) {
  const ws = new WebSocket(s.url, address === undefined ? {} : { headers: { 'x-forwarded-for': address } });
  sockets.push(ws);
  ws.on('error', () => undefined);
  const messages: Message[] = [];
  ws.on('message', (data: Buffer) => void messages.push(binaryCodec.decode(data)!));
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, messages, closed };
}

/** One login over a socket claiming to come from `address`; resolves with the AUTH answer. */
async function loginFrom(s: TestServer, address: string, authData: object): Promise<Message> {
  const { ws, messages, closed } = await socket(s, address);
  const send = (message: Message) => ws.send(binaryCodec.encode(message));
  send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: s.url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
  send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
  const deadline = Date.now() + 3000;
  let answer: Message | undefined;
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  while ((answer = messages.find(isAuth)) === undefined && !isClosed && Date.now() < deadline) await until(5);
  ws.close();
  if (answer === undefined) throw new Error(`no AUTH answer; got ${JSON.stringify(messages)}`);
  return answer;
}

const backoffData = (reply: Message) => JSON.parse(reply.data ?? 'null') as { error: string; retryAfter: number };

describe('one login check at a time per connection', () => {
  const calls: Array<Record<string, unknown>> = [];
  const loggedIn: string[] = [];
  let s: TestServer;
  before(async () => {
    const watchLogins = definePlugin({
      name: 'test-watch-logins',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup: (ctx) => ctx.hooks.authenticated.tap(ctx.name, (session) => void loggedIn.push(session.userId!)),
    });
    s = await server({ plugins: [countingTap(calls), slowStrategy(20), watchLogins, events] });
  });
  afterEach(() => void (calls.length = 0));

  it('50 pipelined guesses: 3 checks, TOO_MANY_AUTH_ATTEMPTS, and the right password (#38) never logs in', async () => {
    const healthy = track(await RawClient.login(s.url, { username: 'healthy', password: 'right' }));
    calls.length = 0;
    const guesses = Array.from({ length: 50 }, (_, i) => ({ username: 'ann', password: i === 37 ? 'right' : `guess-${i + 1}` }));
    const attacker = await pipelineLogins(s, guesses);
    assert.ok((await pingRoundTrip(healthy)) < LATENCY_BOUND_MS, 'a healthy client is answered while the guesses are checked');
    await Promise.race([attacker.closed, until(3000).then(() => assert.fail('the attacker was not closed'))]);
    assert.deepEqual(calls.map((c) => c.password), ['guess-1', 'guess-2', 'guess-3'], 'one check at a time, maxAuthAttempts in all');
    assert.deepEqual(authActions(attacker), [AUTH_ACTION.AUTH_UNSUCCESSFUL, AUTH_ACTION.AUTH_UNSUCCESSFUL, AUTH_ACTION.AUTH_UNSUCCESSFUL, AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS]);
    const dropped = s.warnings().filter((line) => line.msg.includes('beyond maxAuthAttempts'));
    assert.equal(dropped.length, 1, 'one warn line for the dropped requests, not one per request');
    await until(100);
    assert.equal(calls.length, 3, 'nothing is checked after the close');
    assert.equal(s.kernel.sessions.size, 1, 'only the healthy session is left');
  });

  it('a right password queued behind a wrong one logs in; the requests queued behind it are dropped', async () => {
    const attacker = await pipelineLogins(s, [
      { username: 'bob', password: 'wrong' },
      { username: 'bob', password: 'right' },
      { username: 'eve', password: 'right' },
    ]);
    await attacker.next((m) => m.topic === TOPIC.AUTH && m.action === AUTH_ACTION.AUTH_SUCCESSFUL);
    assert.ok((await pingRoundTrip(attacker)) < LATENCY_BOUND_MS, 'the session is open');
    await until(100);
    assert.deepEqual(calls.map((c) => c.username), ['bob', 'bob'], "eve's request was never checked");
    assert.deepEqual(authActions(attacker), [AUTH_ACTION.AUTH_UNSUCCESSFUL], 'no answer for the dropped request');
    assert.equal([...s.kernel.sessions].find((session) => session.userId === 'eve'), undefined);
  });

  it('a check still pending when the socket closes logs nobody in', async () => {
    const attacker = await pipelineLogins(s, [{ username: 'mallory', password: 'right' }]);
    attacker.close();
    await attacker.closed;
    await until(100); // the strategy answers after 20 ms
    assert.deepEqual(calls.map((c) => c.username), ['mallory']);
    assert.equal(loggedIn.includes('mallory'), false, 'the late success was ignored');
    assert.equal([...s.kernel.sessions].some((session) => session.userId === 'mallory'), false);
  });
});

describe('200 pipelined PBKDF2 checks on one socket', () => {
  const calls: Array<Record<string, unknown>> = [];
  /** `calls` of the attacker's username when its unauthenticated session closed. */
  const atClose: number[] = [];
  let s: TestServer;
  before(async () => {
    const users = { ann: { password: await hashPassword('ann-password', DEFAULT_HASH) }, bob: { password: await hashPassword('bob-password', DEFAULT_HASH) } };
    const watchClose = definePlugin({
      name: 'test-watch-close',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.hooks.disconnect.tap(ctx.name, (session) => {
          if (!session.isAuthenticated) atClose.push(calls.filter((c) => c.username === 'ann').length);
        });
      },
    });
    // Real PBKDF2 at the plugin's default cost (100000 iterations): each check takes a libuv thread.
    s = await server({ plugins: [countingTap(calls), watchClose, authFile.with({ users, reportInvalidParameters: true })] });
  });

  it("run one at a time and stop at close; another user's login stays fast", async () => {
    const attacker = await pipelineLogins(s, Array.from({ length: 200 }, (_, i) => ({ username: 'ann', password: `guess-${i}` })));
    const started = performance.now();
    await official(s.url).login({ username: 'bob', password: 'bob-password' });
    const victimLogin = performance.now() - started;
    attacker.close();
    await attacker.closed;
    await until(300); // a derivation queued behind the close would finish well within this
    const annChecks = calls.filter((c) => c.username === 'ann').length;
    assert.equal(atClose.length, 1);
    assert.ok(annChecks >= 1 && annChecks <= 3, `at most maxAuthAttempts checks, got ${annChecks}`);
    assert.equal(annChecks, atClose[0], 'no check started after the socket closed');
    assert.ok(victimLogin < LATENCY_BOUND_MS, `bob's login took ${victimLogin.toFixed(0)} ms`);
  });
});

describe('pipelined logins against an auth-http webhook', () => {
  let webhook: Server;
  let webhookCalls = 0;
  let s: TestServer;
  before(async () => {
    webhook = createServer((request, response) => {
      webhookCalls++;
      request.resume();
      request.on('end', () => setTimeout(() => response.writeHead(401).end(), 10));
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const endpointUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/auth`;
    s = await server({ plugins: [authHttp.with({ endpointUrl })] });
  });
  after(async () => {
    webhook.closeAllConnections();
    await new Promise((resolve) => webhook.close(resolve));
  });

  it('30 pipelined requests make maxAuthAttempts webhook calls, then TOO_MANY_AUTH_ATTEMPTS', async () => {
    const attacker = await pipelineLogins(s, Array.from({ length: 30 }, (_, i) => ({ username: 'ann', password: `guess-${i}` })));
    await Promise.race([attacker.closed, until(3000).then(() => assert.fail('the attacker was not closed'))]);
    await until(100);
    assert.equal(webhookCalls, 3);
    assert.deepEqual(authActions(attacker).slice(-1), [AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS]);
  });
});

describe('login backoff per username over WebSocket', () => {
  const calls: Array<Record<string, unknown>> = [];
  let s: TestServer;
  before(async () => {
    s = await server({
      connection: { maxAuthAttempts: 50, loginBackoff: { failuresPerUsername: 3, baseDelay: 300, maxDelay: 1_200 } },
      plugins: [countingTap(calls), authFile.with({ users: { ann: { password: 'ann-pw' }, bob: { password: 'bob-pw' } }, hash: false, reportInvalidParameters: true }), events],
    });
  });

  it('refuses the right password without checking it while blocked, doubles the block, and a success clears the count', async () => {
    const c = official(s.url);
    for (let i = 0; i < 3; i++) assert.equal(await refusal(c, { username: 'ann', password: `guess-${i}` }), 'INVALID_AUTHENTICATION_DETAILS');
    const checked = calls.length;

    const blocked = (await refusal(c, { username: 'ann', password: 'ann-pw' })) as { error: string; retryAfter: number };
    assert.match(blocked.error, /^loginBackoff\.failuresPerUsername \(3 in 60000 ms\) reached for this username; retry in \d+ ms$/);
    assert.ok(blocked.retryAfter > 0 && blocked.retryAfter <= 300, `retryAfter ${blocked.retryAfter}`);
    assert.equal(calls.length, checked, 'the strategies were not asked while blocked');
    const warned = s.warnings().filter((line) => line.msg.startsWith('login backoff'));
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.key, 'username');
    assert.equal(JSON.stringify(s.logs).includes('guess-'), false, 'no guess in the logs');

    // Another user from the same address is not slowed down.
    const started = performance.now();
    await official(s.url).login({ username: 'bob', password: 'bob-pw' });
    assert.ok(performance.now() - started < LATENCY_BOUND_MS);

    // After the block, one more failure blocks again, twice as long.
    await until(blocked.retryAfter + 20);
    assert.equal(await refusal(c, { username: 'ann', password: 'guess-again' }), 'INVALID_AUTHENTICATION_DETAILS');
    const again = (await refusal(c, { username: 'ann', password: 'ann-pw' })) as { retryAfter: number };
    assert.ok(again.retryAfter > 300 && again.retryAfter <= 600, `the second block is doubled: ${again.retryAfter}`);

    await until(again.retryAfter + 20);
    await c.login({ username: 'ann', password: 'ann-pw' });
    // The success cleared ann's failures: two more wrong passwords are ordinary refusals.
    const d = official(s.url);
    for (let i = 0; i < 2; i++) assert.equal(await refusal(d, { username: 'ann', password: `later-${i}` }), 'INVALID_AUTHENTICATION_DETAILS');
    assert.equal(s.warnings().filter((line) => line.msg.startsWith('login backoff')).length, 1, 'one warn line per key that starts being throttled');
  });
});

describe('login backoff per address over WebSocket', () => {
  const calls: Array<Record<string, unknown>> = [];
  let s: TestServer;
  before(async () => {
    s = await server({
      connection: { trustProxy: true, loginBackoff: { failuresPerAddress: 4, baseDelay: 2_000 } },
      plugins: [countingTap(calls), authFile.with({ users: { bob: { password: 'bob-pw' } }, hash: false, reportInvalidParameters: true }), events],
    });
  });

  it('a password spray from one address blocks that address, even for a right password; other addresses log in', async () => {
    const healthy = track(await RawClient.login(s.url, { username: 'bob', password: 'bob-pw' }));
    for (let i = 0; i < 4; i++) {
      const reply = await loginFrom(s, '10.0.0.1', { username: `user-${i}`, password: 'Summer2024!' });
      assert.equal(reply.action, AUTH_ACTION.AUTH_UNSUCCESSFUL);
    }
    const checked = calls.length;
    const blocked = await loginFrom(s, '10.0.0.1', { username: 'bob', password: 'bob-pw' });
    assert.equal(blocked.action, AUTH_ACTION.AUTH_UNSUCCESSFUL);
    assert.match(backoffData(blocked).error, /^loginBackoff\.failuresPerAddress \(4 in 60000 ms\) reached for this address; retry in \d+ ms$/);
    assert.equal(calls.length, checked, 'the strategies were not asked while blocked');
    assert.ok((await pingRoundTrip(healthy)) < LATENCY_BOUND_MS);
    assert.equal((await loginFrom(s, '10.0.0.2', { username: 'bob', password: 'bob-pw' })).action, AUTH_ACTION.AUTH_SUCCESSFUL);
    const warned = s.warnings().filter((line) => line.msg.startsWith('login backoff'));
    assert.deepEqual(warned.map((line) => [line.key, line.remoteAddress]), [['address', '10.0.0.1']]);
  });
});

describe('X-Forwarded-For is not trusted by default', () => {
  const calls: Array<Record<string, unknown>> = [];
  let s: TestServer;
  before(async () => {
    s = await server({
      connection: { loginBackoff: { failuresPerAddress: 4, baseDelay: 2_000 } },
      plugins: [countingTap(calls), authFile.with({ users: { bob: { password: 'bob-pw' } }, hash: false, reportInvalidParameters: true }), events],
    });
  });

  it('a spray that forges a fresh X-Forwarded-For for every guess is still one address', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await loginFrom(s, `10.1.0.${i}`, { username: `user-${i}`, password: 'Summer2024!' });
      assert.equal(reply.action, AUTH_ACTION.AUTH_UNSUCCESSFUL);
    }
    const checked = calls.length;
    const blocked = await loginFrom(s, '10.1.0.99', { username: 'bob', password: 'bob-pw' });
    assert.match(backoffData(blocked).error, /^loginBackoff\.failuresPerAddress \(4 in 60000 ms\) reached for this address/);
    assert.equal(calls.length, checked, 'the strategies were not asked while blocked');
  });
});

describe('login backoff over the HTTP API', () => {
  const calls: Array<Record<string, unknown>> = [];
  let s: TestServer;
  let base: string;
  const post = async (path: string, body: object, address: string) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': address }, body: JSON.stringify(body) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
  };
  before(async () => {
    s = await server({
      connection: { trustProxy: true, loginBackoff: { failuresPerUsername: 3, failuresPerAddress: 6, baseDelay: 1_000 } },
      plugins: [countingTap(calls), authFile.with({ users: { ann: { password: 'ann-pw' }, bob: { password: 'bob-pw' } }, hash: false, reportInvalidParameters: true }), events, httpApi],
    });
    base = `http://127.0.0.1:${s.port}`;
  });

  it('/api/auth, message POSTs and WebSocket logins share one backoff per username', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await post('/api/auth', { username: 'ann', password: `guess-${i}` }, '10.1.0.1')).status, 401);
    const checked = calls.length;
    const blocked = await post('/api/auth', { username: 'ann', password: 'ann-pw' }, '10.1.0.1');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.retryAfter, '1');
    assert.match(blocked.text, /loginBackoff\.failuresPerUsername \(3 in 60000 ms\) reached for this username; retry in \d+ ms/);
    // The same user through a message POST (a transient session) and over WebSocket, from elsewhere.
    const batch = await post('/api', { authData: { username: 'ann', password: 'ann-pw' }, body: [{ topic: 'event', action: 'emit', eventName: 'x' }] }, '10.1.0.9');
    assert.equal(batch.status, 401);
    const ws = await loginFrom(s, '10.1.0.10', { username: 'ann', password: 'ann-pw' });
    assert.match(backoffData(ws).error, /failuresPerUsername/);
    assert.equal(calls.length, checked, 'no strategy was asked while ann is blocked');
    assert.equal((await post('/api/auth', { username: 'bob', password: 'bob-pw' }, '10.1.0.1')).status, 200, 'bob is not affected');
  });

  it('/api/auth backs off per address', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await post('/api/auth', { username: `user-${i}`, password: 'x' }, '10.2.0.1')).status, 401);
    const blocked = await post('/api/auth', { username: 'bob', password: 'bob-pw' }, '10.2.0.1');
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /loginBackoff\.failuresPerAddress \(6 in 60000 ms\) reached for this address/);
    assert.equal(Number(blocked.retryAfter), 1);
    const elsewhere = await post('/api/auth', { username: 'bob', password: 'bob-pw' }, '10.2.0.2');
    assert.equal(elsewhere.status, 200);
    assert.ok((JSON.parse(elsewhere.text) as { token?: string }).token);
  });
});

describe('default options and a test suite on 127.0.0.1', () => {
  const USERS = 200;
  let s: TestServer;
  before(async () => {
    const users = Object.fromEntries(Array.from({ length: USERS }, (_, i) => [`user-${i}`, { password: `pw-${i}` }]));
    s = await server({ plugins: [authFile.with({ users, hash: false })] });
  });

  it('200 logins from one address, 50 of them after a typo, are never throttled', async () => {
    for (let batch = 0; batch < USERS; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const i = batch + j;
          const c = official(s.url);
          if (i < 50) assert.equal(await refusal(c, { username: `user-${i}`, password: 'typo' }), 'INVALID_AUTHENTICATION_DETAILS');
          await c.login({ username: `user-${i}`, password: `pw-${i}` });
        }),
      );
      for (const c of officialClients.splice(0)) c.close();
    }
    assert.equal(s.logs.filter((line) => String(line.msg).startsWith('login backoff')).length, 0);
    assert.equal(s.logs.filter((line) => line.retryAfter !== undefined).length, 0, 'no login was refused by the backoff');
  });
});

describe('the cap on connections per address that are not logged in', () => {
  let s: TestServer;
  const CAP = 4;
  before(async () => {
    s = await server({
      connection: { maxUnauthenticatedPerAddress: CAP },
      plugins: [slowStrategy(0), events, httpApi],
    });
  });

  const challenge = (client: RawClient) =>
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: s.url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });

  it('refuses the connection past the cap with CONNECTION REJECT naming the limit; logging in frees a slot', async () => {
    const healthy = track(await RawClient.login(s.url, { username: 'healthy', password: 'right' }));
    const sender = track(await RawClient.login(s.url, { username: 'sender', password: 'right' }));
    healthy.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['news'], correlationId: '1' });
    await healthy.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);

    // Four waiting: two that did nothing, two whose login failed (never timed out, still not logged in).
    const waiting = [track(await RawClient.connect(s.url)), track(await RawClient.connect(s.url))];
    for (let i = 0; i < 2; i++) {
      const failed = await pipelineLogins(s, [{ username: `f${i}`, password: 'wrong' }]);
      await failed.next(isAuth);
      waiting.push(failed);
    }
    assert.equal(s.kernel.sessions.unauthenticatedFrom('127.0.0.1'), CAP);

    const refused = await socket(s);
    await refused.closed;
    assert.deepEqual(refused.messages, [{
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.REJECT,
      data: JSON.stringify(`maxUnauthenticatedPerAddress (${CAP}) reached: too many connections from this address are not logged in`),
    }]);

    // The official client stops for good (no reconnect storm), in CHALLENGE_DENIED.
    const denied = official(s.url);
    void denied.login({ username: 'x', password: 'right' }).catch(() => undefined);
    const deadline = Date.now() + 2000;
    while (denied.getConnectionState() !== 'CHALLENGE_DENIED' && Date.now() < deadline) await until(10);
    assert.equal(denied.getConnectionState(), 'CHALLENGE_DENIED');

    // A burst of refused sockets: the logged-in client is still served, one warn line in all.
    const burst = await Promise.all(Array.from({ length: 30 }, () => socket(s)));
    await Promise.all(burst.map((client) => client.closed));
    assert.ok(burst.every((client) => client.messages.length === 1 && client.messages[0]!.action === CONNECTION_ACTION.REJECT));
    const started = performance.now();
    sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '"hello"' });
    await healthy.next((m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT, 5000);
    assert.ok(performance.now() - started < LATENCY_BOUND_MS);
    assert.equal(s.warnings().filter((line) => line.msg.startsWith('connection refused')).length, 1);

    // HTTP API requests are transient sessions, not counted: they still work.
    const response = await fetch(`http://127.0.0.1:${s.port}/api`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authData: { username: 'http', password: 'right' }, body: [{ topic: 'event', action: 'emit', eventName: 'news', data: 1 }] }),
    });
    assert.equal(response.status, 200);

    // One waiting connection logs in: its slot is free for a newcomer.
    const [, , first] = waiting;
    first!.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username: 'f0', password: 'right' }) });
    assert.equal((await first!.next(isAuth)).action, AUTH_ACTION.AUTH_SUCCESSFUL);
    assert.equal(s.kernel.sessions.unauthenticatedFrom('127.0.0.1'), CAP - 1);
    const newcomer = track(await RawClient.connect(s.url));
    challenge(newcomer);
    assert.equal((await newcomer.next()).action, CONNECTION_ACTION.ACCEPT);

    // Closing frees a slot as well, and nothing is left behind once all are gone.
    for (const client of [...waiting, newcomer]) client.close();
    await Promise.all([...waiting, newcomer].map((client) => client.closed));
    await until(50);
    assert.equal(s.kernel.sessions.unauthenticatedFrom('127.0.0.1'), 0);
  });
});
