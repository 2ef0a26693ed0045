/**
 * Connection lifecycle (PROTOCOL §1, §6): handshake, heartbeats, timers, auth attempts, slow
 * consumers, plugins that throw, fail-closed authorization and graceful stop.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { DeepstreamClient } from '@deepstream/client';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  TOPIC,
  definePlugin,
  type DeepstreamConfig,
  type Message,
} from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

const until = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Rejects after `ms`, for Promise.race; unref'd so that a race already won does not hold the process. */
const deadline = (ms: number, what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref());

// Every client and server of the file, so that a failing test still lets the process exit.
const rawClients: RawClient[] = [];
const officialClients: DeepstreamClient[] = [];
const servers: TestServer[] = [];

async function server(config: DeepstreamConfig): Promise<TestServer> {
  const s = await startTestServer(config);
  servers.push(s);
  return s;
}

function track(client: RawClient): RawClient {
  client.ws.on('error', () => undefined); // resets are expected in some tests; `closed` reports them
  rawClients.push(client);
  return client;
}
const connect = async (s: TestServer) => track(await RawClient.connect(s.url));
const login = async (s: TestServer, authData: object = {}) => track(await RawClient.login(s.url, authData));

async function official(s: TestServer, authData: Record<string, string> = {}): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(s.url, { subscriptionInterval: 0 } as never);
  officialClients.push(c);
  await c.login(authData);
  return c;
}

function challenge(client: RawClient, url: string): void {
  client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
}
const isAccept = (m: Message) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT;
const isPong = (m: Message) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG;
const ping = (client: RawClient) => client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });

async function subscribe(client: RawClient, names: string[], correlationId = '1'): Promise<void> {
  client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names, correlationId });
  const ack = await client.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
  assert.equal(ack.action, EVENT_ACTION.SUBSCRIBE);
  assert.equal(ack.correlationId, correlationId);
}
const emit = (client: RawClient, name: string, data?: string) =>
  client.send(data === undefined ? { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name } : { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data });
const emitOf = (name: string, data?: string) => (m: Message) =>
  m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === name && (data === undefined || m.data === data);

/** The id of the session the server made for the client that connected during `open`. */
async function withSessionId<T>(s: TestServer, open: () => Promise<T>): Promise<[T, string]> {
  const known = new Set([...s.kernel.sessions].map((x) => x.id));
  const result = await open();
  const fresh = [...s.kernel.sessions].map((x) => x.id).filter((id) => !known.has(id));
  assert.equal(fresh.length, 1, `expected one new session, got ${JSON.stringify(fresh)}`);
  return [result, fresh[0]!];
}

/** A fresh pair of raw clients still logs in and round-trips an event. */
async function assertEventRoundTrip(s: TestServer, name: string): Promise<void> {
  const receiver = await login(s);
  await subscribe(receiver, [name]);
  const sender = await login(s);
  emit(sender, name, '"ping"');
  await receiver.next(emitOf(name, '"ping"'));
  receiver.close();
  sender.close();
}

afterEach(() => {
  for (const c of rawClients.splice(0)) c.close();
  for (const c of officialClients.splice(0)) c.close();
});

after(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

describe('handshake and ping', () => {
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authOpen, events] });
  });

  it('answers CHALLENGE with ACCEPT, then logs in', async () => {
    const client = await connect(s);
    challenge(client, s.url);
    const accept = await client.next();
    assert.deepEqual(accept, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"ann"}' });
    const ok = await client.next();
    assert.equal(ok.topic, TOPIC.AUTH);
    assert.equal(ok.action, AUTH_ACTION.AUTH_SUCCESSFUL);
  });

  it('sends no PONG before login, neither before the challenge nor while awaiting auth', async () => {
    const client = await connect(s);
    ping(client);
    assert.equal(await client.nothingWithin(100), true, `before challenge: ${JSON.stringify(client.received)}`);
    challenge(client, s.url);
    await client.next(isAccept);
    ping(client);
    assert.equal(await client.nothingWithin(100), true, `awaiting auth: ${JSON.stringify(client.received)}`);
    assert.equal(client.ws.readyState, client.ws.OPEN);
  });

  it('answers PING with PONG after login', async () => {
    const client = await login(s);
    ping(client);
    const pong = await client.next();
    assert.deepEqual(pong, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });
    ping(client);
    ping(client);
    await client.next(isPong);
    await client.next(isPong);
  });

  for (const path of ['/other', '/deepstream?x=1', '/deepstream/', '/DEEPSTREAM']) {
    it(`refuses an upgrade on the wrong path ${path}`, async () => {
      const url = `ws://127.0.0.1:${s.port}${path}`;
      await assert.rejects(RawClient.connect(url), /socket hang up|ECONNRESET/);
      // ...and the right path still works.
      const client = await login(s);
      ping(client);
      await client.next(isPong);
    });
  }
});

/** Refuses every login except password "secret". */
const picky = definePlugin({
  name: 'test-picky-auth',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      if (!Array.isArray(authData) && (authData as Record<string, unknown>).password === 'secret') return { isValid: true, id: 'ann' };
      return { isValid: false, clientData: { error: 'nope' } };
    });
  },
});

describe('authentication timers and attempts', () => {
  const TIMEOUT = 200;
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [picky, events], connection: { unauthenticatedClientTimeout: TIMEOUT, maxAuthAttempts: 2 } });
  });

  it('times out a client that never sends the challenge: AUTHENTICATION_TIMEOUT, then close', async () => {
    const opened = Date.now();
    const client = await connect(s);
    const message = await client.next(() => true, 1000);
    assert.ok(Date.now() - opened >= TIMEOUT - 20, `timed out too early: ${Date.now() - opened} ms`);
    assert.deepEqual(message, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT });
    const { code } = await client.closed;
    assert.equal(code, 1005);
  });

  it('times out a client that sent the challenge but never logs in', async () => {
    const client = await connect(s);
    challenge(client, s.url);
    await client.next(isAccept);
    const message = await client.next(() => true, 1000);
    assert.deepEqual(message, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT });
    await client.closed;
  });

  it('reads a login that arrived in time before the timeout decides, even when the server was stalled past it', async () => {
    const client = await connect(s);
    challenge(client, s.url);
    await client.next(isAccept);
    // Sent (the socket writes at once), then the process stalls, as a node busy starting does: the
    // frame waits unread in the server's socket while the timer becomes due.
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"password":"secret"}' });
    const stall = Date.now() + TIMEOUT + 100;
    while (Date.now() < stall);
    const reply = await client.next(() => true, 1000);
    assert.deepEqual([reply.topic, reply.action], [TOPIC.AUTH, AUTH_ACTION.AUTH_SUCCESSFUL]);
    assert.equal(await client.nothingWithin(2 * TIMEOUT), true, `got ${JSON.stringify(client.received)}`);
  });

  it('does not time out a login the server is still checking when the timeout ends', async () => {
    const slow = definePlugin({
      name: 'test-slow-auth',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.hooks.authenticate.tapPromise(ctx.name, async () => {
          await until(TIMEOUT * 2); // a cold webhook
          return { isValid: true, id: 'late' };
        });
      },
    });
    const slowServer = await server({ plugins: [slow, events], connection: { unauthenticatedClientTimeout: TIMEOUT } });
    const client = await connect(slowServer);
    challenge(client, slowServer.url);
    await client.next(isAccept);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' });
    const reply = await client.next(() => true, 2000);
    assert.deepEqual([reply.topic, reply.action], [TOPIC.AUTH, AUTH_ACTION.AUTH_SUCCESSFUL]);
  });

  it('one failed login attempt cancels the timer (PROTOCOL §6.3)', async () => {
    const client = await connect(s);
    challenge(client, s.url);
    await client.next(isAccept);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"password":"wrong"}' });
    const refused = await client.next();
    assert.equal(refused.action, AUTH_ACTION.AUTH_UNSUCCESSFUL);
    assert.equal(await client.nothingWithin(3 * TIMEOUT), true, `got ${JSON.stringify(client.received)}`);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"password":"secret"}' });
    const ok = await client.next();
    assert.equal(ok.action, AUTH_ACTION.AUTH_SUCCESSFUL);
  });

  it('a successful login cancels the timer', async () => {
    const client = await login(s, { password: 'secret' });
    assert.equal(await client.nothingWithin(2 * TIMEOUT), true, `got ${JSON.stringify(client.received)}`);
    ping(client);
    await client.next(isPong);
  });

  it('refuses with data, then after maxAuthAttempts sends TOO_MANY_AUTH_ATTEMPTS and closes', async () => {
    const client = await connect(s);
    challenge(client, s.url);
    await client.next(isAccept);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"password":"one"}' });
    assert.deepEqual(await client.next(), { topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL, data: '{"error":"nope"}' });
    assert.equal(await client.nothingWithin(50), true);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"password":"two"}' });
    assert.deepEqual(await client.next(), { topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL, data: '{"error":"nope"}' });
    assert.deepEqual(await client.next(), { topic: TOPIC.AUTH, action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS });
    const { code } = await client.closed;
    assert.equal(code, 1005);
    assert.deepEqual(client.received, []);
  });

  it('the official client gets the failure reason', async () => {
    const c = new DeepstreamClient(s.url, { subscriptionInterval: 0 } as never);
    officialClients.push(c);
    const result = await new Promise<[boolean, unknown]>((resolve) => c.login({ password: 'bad' }, (ok, data) => resolve([ok, data])));
    assert.deepEqual(result, [false, { reason: { error: 'nope' } }]);
  });
});

describe('heartbeat', () => {
  const INTERVAL = 200;
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authOpen, events], connection: { heartbeatInterval: INTERVAL } });
  });

  it('closes a client that goes silent after login within ~2.5 intervals, and keeps one that pings', async () => {
    const lively = await login(s);
    let pongs = 0;
    const pinger = setInterval(() => {
      ping(lively);
      lively.next(isPong).then(() => pongs++, () => undefined);
    }, INTERVAL / 2);
    try {
      const silent = await login(s); // its last frame is the AUTH request
      const since = Date.now();
      await Promise.race([silent.closed, deadline(2.5 * INTERVAL + 400, 'the silent client was not closed in time')]);
      const elapsed = Date.now() - since;
      assert.ok(elapsed >= 2 * INTERVAL - 50, `closed too early, after ${elapsed} ms`);
      assert.ok(elapsed <= 2.5 * INTERVAL + 250, `closed too late, after ${elapsed} ms`);
      assert.deepEqual(silent.received, [], 'closed without a message');
      await until(INTERVAL);
      assert.equal(lively.ws.readyState, lively.ws.OPEN, 'the pinging client must stay open');
      assert.ok(pongs >= 5, `the pinging client got ${pongs} PONGs`);
    } finally {
      clearInterval(pinger);
    }
  });

  it('also closes a connection that never logs in and stays silent', async () => {
    const silent = await connect(s);
    await Promise.race([silent.closed, deadline(2.5 * INTERVAL + 400, 'not closed in time')]);
  });
});

describe('slow consumer', () => {
  const LIMIT = 64 * 1024;
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authOpen, events], connection: { outgoingBufferLimit: LIMIT } });
  });

  it('drops a subscriber that does not read, warns "slow consumer", and everyone else carries on', async () => {
    const [slow, slowSession] = await withSessionId(s, () => login(s));
    await subscribe(slow, ['firehose']);
    const healthy = await login(s);
    await subscribe(healthy, ['firehose']);
    const emitter = await login(s);
    await subscribe(emitter, ['back']);
    (slow.ws as unknown as { _socket: Socket })._socket.pause();

    let delivered = 0;
    let waiting: { target: number; resolve: () => void } | undefined;
    healthy.ws.on('message', () => {
      delivered++;
      if (waiting !== undefined && delivered >= waiting.target) waiting.resolve();
    });
    const deliveredAtLeast = (target: number) =>
      delivered >= target ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { target, resolve }));

    const warnings = s.warnings().length;
    const slowWarning = () => s.warnings().slice(warnings).find((l) => l.msg.includes('slow consumer'));
    // Paced by the healthy subscriber, 32 KiB in flight at a time (half the limit): a client that
    // reads must never be mistaken for a slow one. The paused one fills the kernel buffers, then ours.
    const payload = JSON.stringify('x'.repeat(16 * 1024));
    const giveUpAt = Date.now() + 8000;
    let sent = 0;
    while (slowWarning() === undefined && Date.now() < giveUpAt) {
      emit(emitter, 'firehose', payload);
      emit(emitter, 'firehose', payload);
      sent += 2;
      await Promise.race([deliveredAtLeast(sent), deadline(2000, 'the healthy subscriber stalled')]).catch(() => undefined);
      assert.equal(delivered, sent, `the healthy subscriber stalled at ${delivered}/${sent}`);
      healthy.received.length = 0; // the queue of messages nobody waits for: keep memory flat
    }
    const line = slowWarning();
    assert.ok(line !== undefined, `no slow consumer warning after ${sent} emits of ${payload.length} bytes`);
    await until(50);
    const added = s.warnings().slice(warnings);
    assert.equal(added.length, 1, `expected one warn line, got ${JSON.stringify(added)}`);
    assert.equal(line.session, slowSession);
    assert.ok(![...s.kernel.sessions].some((x) => x.id === slowSession), 'the slow session is gone');

    // The dropped client sees its socket end once it reads again.
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    await Promise.race([slow.closed, deadline(3000, 'the slow client never saw the close')]);

    // The emitter and the healthy subscriber keep working, in both directions.
    emit(emitter, 'firehose', '"last"');
    await healthy.next(emitOf('firehose', '"last"'));
    emit(healthy, 'back', '"thanks"');
    await emitter.next(emitOf('back', '"thanks"'));
  });

  it(
    'does not drop a subscriber that reads, when a burst bigger than the limit arrives in one event-loop turn',
    async () => {
      const [reader, readerSession] = await withSessionId(s, () => login(s));
      await subscribe(reader, ['burst']);
      const emitter = await login(s);
      const warnings = s.warnings().length;
      const payload = JSON.stringify('y'.repeat(16 * 1024));
      const count = 8; // 128 KiB sent at once: twice the limit, in a few TCP reads
      for (let i = 0; i < count; i++) emit(emitter, 'burst', payload);
      for (let i = 0; i < count; i++) await reader.next(emitOf('burst'), 500);
      await until(50);
      const added = s.warnings().slice(warnings);
      assert.deepEqual(added.filter((l) => l.session === readerSession), [], 'the reading subscriber was dropped');
    },
  );
});

describe('plugins that throw', () => {
  /** Throws in `authenticated` and, for MONITORING, in its topic handler (sync and async). */
  const thrower = definePlugin({
    name: 'test-thrower',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authenticated.tap(ctx.name, () => {
        throw new Error('boom in authenticated');
      });
      ctx.claim(TOPIC.MONITORING, async (_session, message) => {
        if (message.action === 1) throw new Error('boom in a handler');
        await Promise.resolve();
        throw new Error('boom later in a handler');
      });
    },
  });
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authOpen, thrower, events] });
  });

  const errorsFrom = (from: number) => s.logs.slice(from).filter((l) => l.level >= 50);

  it('reports a throwing authenticated tap with plugin and hook; the official client still works', async () => {
    const from = s.logs.length;
    const alice = await official(s, { username: 'alice' });
    const bob = await official(s, { username: 'bob' });
    const got = new Promise<unknown>((resolve) => bob.event.subscribe('news', resolve));
    await until(100);
    alice.event.emit('news', { n: 1 });
    assert.deepEqual(await got, { n: 1 });
    const errors = errorsFrom(from);
    assert.equal(errors.length, 2, JSON.stringify(errors)); // one per login
    for (const e of errors) {
      assert.equal(e.plugin, 'test-thrower');
      assert.equal(e.hook, 'authenticated');
      assert.match(e.msg, /test-thrower.*authenticated.*boom in authenticated/);
    }
  });

  it('reports a topic handler that throws or rejects; the client still works', async () => {
    const client = await login(s);
    const from = s.logs.length;
    client.send({ topic: TOPIC.MONITORING, action: 1 as Message['action'] });
    client.send({ topic: TOPIC.MONITORING, action: 2 as Message['action'] });
    ping(client);
    await client.next(isPong);
    await until(50);
    const errors = errorsFrom(from);
    assert.equal(errors.length, 2, JSON.stringify(errors));
    for (const e of errors) {
      assert.equal(e.plugin, 'test-thrower');
      assert.equal(e.hook, 'route:MONITORING');
    }
    assert.match(errors[0]!.msg, /boom in a handler/);
    assert.match(errors[1]!.msg, /boom later in a handler/);
    assert.deepEqual(client.received, [], 'a throwing handler sends nothing');
    await assertEventRoundTrip(s, 'after-throw');
  });
});

describe('an authorize tap that throws denies (fail closed)', () => {
  /** Throws (sync) for `secret/...`, rejects (async) for `async-secret/...`, no opinion otherwise. */
  const brokenRules = definePlugin({
    name: 'test-broken-rules',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authorize.tap(ctx.name, ({ name }) => {
        if (name.startsWith('secret/')) throw new Error('rules exploded');
        return undefined;
      });
    },
  });
  const brokenAsyncRules = definePlugin({
    name: 'test-broken-async-rules',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authorize.tapPromise(ctx.name, async ({ name }) => {
        if (name.startsWith('async-secret/')) throw new Error('async rules exploded');
        return undefined;
      });
    },
  });
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authOpen, brokenRules, brokenAsyncRules, events] });
  });

  for (const name of ['secret/a', 'async-secret/a']) {
    it(`EMIT ${name}: MESSAGE_PERMISSION_ERROR`, async () => {
      const client = await login(s);
      const from = s.logs.length;
      emit(client, name, '1');
      const reply = await client.next();
      assert.deepEqual({ ...reply, names: undefined }, {
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.MESSAGE_PERMISSION_ERROR,
        name,
        originalAction: EVENT_ACTION.EMIT,
        isError: true,
        names: undefined,
      });
      assert.equal(await client.nothingWithin(100), true);
      const errors = s.logs.slice(from).filter((l) => l.level >= 50);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.equal(errors[0]!.hook, 'authorize');
      assert.equal(errors[0]!.plugin, name.startsWith('async') ? 'test-broken-async-rules' : 'test-broken-rules');
    });
  }

  it('SUBSCRIBE: MESSAGE_PERMISSION_ERROR per denied name, no ack when every name is denied', async () => {
    const client = await login(s);
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['secret/a', 'async-secret/b'], correlationId: '5' });
    for (const name of ['secret/a', 'async-secret/b']) {
      const reply = await client.next();
      assert.equal(reply.action, EVENT_ACTION.MESSAGE_PERMISSION_ERROR);
      assert.equal(reply.name, name);
      assert.equal(reply.originalAction, EVENT_ACTION.SUBSCRIBE);
      assert.equal(reply.correlationId, '5');
      assert.equal(reply.isError, true);
    }
    assert.equal(await client.nothingWithin(150), true, `no ack expected: ${JSON.stringify(client.received)}`);
  });

  it('SUBSCRIBE with a mix: errors for the denied names, an ack, and the allowed name is subscribed', async () => {
    const client = await login(s);
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['secret/c', 'open/c', 'async-secret/c'], correlationId: '6' });
    const denied = [await client.next(), await client.next()];
    assert.deepEqual(denied.map((m) => [m.action, m.name]).sort(), [
      [EVENT_ACTION.MESSAGE_PERMISSION_ERROR, 'async-secret/c'],
      [EVENT_ACTION.MESSAGE_PERMISSION_ERROR, 'secret/c'],
    ]);
    const ack = await client.next();
    assert.equal(ack.isAck, true);
    assert.equal(ack.action, EVENT_ACTION.SUBSCRIBE);
    assert.equal(ack.correlationId, '6');
    const other = await login(s);
    emit(other, 'open/c', '"hello"');
    await client.next(emitOf('open/c', '"hello"'));
  });
});

describe('graceful stop', () => {
  it('closes every connected client and resolves', async () => {
    const s = await server({ plugins: [authOpen, events] });
    const loggedIn = await login(s);
    await subscribe(loggedIn, ['x']);
    const pending = await connect(s);
    challenge(pending, s.url);
    await pending.next(isAccept);
    const bare = await connect(s);
    const started = Date.now();
    await s.kernel.stop();
    const stopTook = Date.now() - started;
    const codes = await Promise.all([loggedIn.closed, pending.closed, bare.closed].map((p) => Promise.race([p, deadline(1000, 'a client was not closed')])));
    assert.deepEqual(codes, [{ code: 1005 }, { code: 1005 }, { code: 1005 }]);
    assert.ok(stopTook < s.kernel.config.connection.closeGracePeriod, `stop took ${stopTook} ms: clients that answer the close must not wait for the grace period`);
    assert.equal(s.kernel.sessions.size, 0);
    await assert.rejects(RawClient.connect(s.url), /ECONNREFUSED/);
    await s.stop(); // idempotent
  });
});
