/**
 * Hardening of the HTTP API (issue 19, items 8 and 10): internal errors are answered and logged,
 * dropped messages are not reported as SUCCESS, oversize bodies get their 413, auth-file's failure
 * data does not change when the HTTP API is added, batches are bounded by size only, and rate
 * limits per user and per address cover WebSocket and HTTP alike (on one node and across nodes).
 * Every attack runs against a real server over real sockets, while a healthy official client's
 * round trip is timed.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { DeepstreamClient } from '@deepstream/client';
import { RPC_ACTION, TOPIC, definePlugin, type AuthenticationResult, type PluginEntry } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authFile from '@deepstream-ts/plugin-auth-file';
import authJwt from '@deepstream-ts/plugin-auth-jwt';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import httpApi from '@deepstream-ts/plugin-http-api';
import presence from '@deepstream-ts/plugin-presence';
import clusterRedis from '@deepstream-ts/cluster-redis';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import rateLimit from '@deepstream-ts/plugin-rate-limit';
import { pause, post, startApiServer, textBody, type ApiServer } from '../plugins/http-api/test/helpers.ts';
import { isSkip, startRedis } from './services/real-servers.ts';

/** The bound on a healthy client's round trip while an attack runs. */
const HEALTHY_ROUND_TRIP_MS = 500;

const clients: DeepstreamClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function official(url: string, username: string): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(url, { nativeTimerRegistry: true, maxReconnectAttempts: 0, subscriptionInterval: 0 } as never);
  c.on('error', () => undefined);
  clients.push(c);
  await c.login({ username });
  return c;
}

/** A server round trip of the official client (presence query), in ms. */
async function roundTrip(c: DeepstreamClient): Promise<number> {
  const started = performance.now();
  await c.presence.getAll();
  return performance.now() - started;
}

/** Times `healthy` every 20 ms while `attack` runs; resolves with the attack's result and the slowest round trip. */
async function whileHealthy<T>(healthy: DeepstreamClient, attack: () => Promise<T>): Promise<{ result: T; slowest: number }> {
  let running = true;
  let slowest = 0;
  const probe = (async () => {
    while (running) {
      slowest = Math.max(slowest, await roundTrip(healthy));
      await pause(20);
    }
  })();
  try {
    return { result: await attack(), slowest };
  } finally {
    running = false;
    await probe;
    slowest = Math.max(slowest, await roundTrip(healthy));
  }
}

const emits = (eventName: string, count: number) => Array.from({ length: count }, (_, i) => ({ topic: 'event', action: 'emit', eventName, data: i }));

/** Counts the emits of `eventName` a WebSocket subscriber receives. */
async function counter(c: DeepstreamClient, eventName: string): Promise<{ count: () => number }> {
  let received = 0;
  c.event.subscribe(eventName, () => void received++);
  await roundTrip(c); // the subscription is in place once a later round trip is answered
  return { count: () => received };
}

const successes = (body: Array<{ success: boolean }>) => body.filter((r) => r.success).length;

describe('HTTP API internal errors', () => {
  let s: ApiServer;
  /** A strategy whose clientData cannot be sent as JSON (a BigInt): the token login's answer throws. */
  const badClientData = definePlugin({
    name: 'test-bad-client-data',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authenticate.tap(ctx.name, ({ authData }): AuthenticationResult | undefined =>
        (authData as { username?: string }).username === 'bigint' ? { isValid: true, id: 'bigint', clientData: { n: 1n } as never } : undefined,
      );
    },
  });
  /** Owns the RPC topic and throws on every message: a bug in a feature plugin. */
  const throwingRpc = definePlugin({
    name: 'test-throwing-rpc',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.claim(TOPIC.RPC, (_session, message) => {
        if (message.action === RPC_ACTION.REQUEST) throw new Error('secret internal detail');
      });
    },
  });

  before(async () => {
    s = await startApiServer({ requestTimeout: 5000 }, { before: [badClientData], after: [throwingRpc], withoutRpc: true });
  });
  after(() => s.stop());

  it('answers a failure inside the API with 500, logs one error line naming the plugin, and keeps the connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const call = (path: string, body: unknown) =>
        new Promise<{ status: number; text: string; reused: boolean }>((resolve, reject) => {
          const req: ClientRequest = httpRequest({ host: '127.0.0.1', port: s.port, path, method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
          });
          req.on('error', reject);
          req.end(JSON.stringify(body));
        });
      const before = s.logs.length;
      const failed = await call('/api/auth', { username: 'bigint' });
      assert.equal(failed.status, 500);
      assert.equal(failed.text, textBody('An internal error occurred; the request was not completed.'));
      assert.doesNotMatch(failed.text, /BigInt|serialize/, 'no internals in the answer');
      await pause(20);
      const lines = s.logs.slice(before).filter((l) => l.level >= 50);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0]!.msg, 'HTTP API request failed');
      assert.equal(lines[0]!.plugin, '@deepstream-ts/plugin-http-api');
      assert.match(JSON.stringify(lines[0]!.err), /BigInt/, 'the log has the cause');

      const next = await call('/api', { body: [{ topic: 'presence', action: 'query' }] });
      assert.equal(next.status, 200);
      assert.equal(next.reused, true, 'the same keep-alive connection answered the next request');
    } finally {
      agent.destroy();
    }
  });

  it('fails a request whose topic handler threw at once (not at the timeout), logged with the plugin, and runs the others', async () => {
    const started = performance.now();
    const reply = await post(`${s.base}/api`, {
      body: [
        { topic: 'rpc', action: 'make', rpcName: 'boom' },
        { topic: 'presence', action: 'query' },
      ],
    });
    const elapsed = performance.now() - started;
    assert.equal(reply.status, 200);
    assert.equal(reply.json.result, 'PARTIAL_SUCCESS');
    assert.deepEqual(reply.json.body[0], { success: false, error: 'An internal error occurred.', errorTopic: 'connection', errorEvent: 'HTTP_INTERNAL_ERROR' });
    assert.equal(reply.json.body[1].success, true);
    assert.ok(elapsed < 1000, `answered in ${Math.round(elapsed)} ms, not after requestTimeout`);
    assert.doesNotMatch(reply.text, /secret internal detail/);
    assert.ok(
      s.logs.some((l) => l.level >= 50 && l.plugin === 'test-throwing-rpc' && /secret internal detail/.test(JSON.stringify(l))),
      'the kernel logged the failure with the plugin name',
    );
  });
});

describe('HTTP API body size and batch size', () => {
  let s: ApiServer;
  before(async () => {
    s = await startApiServer(); // the defaults: maxMessageSize 1 MiB, no request count limit
  });
  after(() => s.stop());

  const LIMIT_TEXT = textBody('Request body too large: the limit is 1048576 bytes.');
  const oversize = JSON.stringify({ body: [{ topic: 'event', action: 'emit', eventName: 'big', data: 'x'.repeat(4 * 1_048_576) }] });

  it('answers fetch sending a body a few times over the limit with 413', async () => {
    const reply = await fetch(`${s.base}/api`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: oversize });
    assert.equal(reply.status, 413);
    assert.equal(await reply.text(), LIMIT_TEXT);
  });

  /**
   * 4 MiB in 64 KiB chunks 5 ms apart, as a client on a real network sends it, the whole body
   * (as curl or Python's requests do before they read the answer). Resolves once the upload is
   * done and the answer read; an EPIPE or "socket hang up" on the way rejects.
   */
  function pacedUpload(declared: boolean): Promise<{ status: number; text: string }> {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const chunks = 64;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (declared) headers['Content-Length'] = String(chunk.byteLength * chunks);
    return new Promise((resolve, reject) => {
      let answer: { status: number; text: string } | undefined;
      let uploaded = false;
      const settle = () => answer !== undefined && uploaded && resolve(answer);
      const req = httpRequest({ host: '127.0.0.1', port: s.port, path: '/api', method: 'POST', agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (part: string) => (text += part));
        res.on('end', () => {
          answer = { status: res.statusCode ?? 0, text };
          settle();
        });
      });
      req.on('error', reject);
      setTimeout(() => reject(new Error(`no answer after the upload within 5 s (uploaded: ${uploaded})`)), 5000).unref();
      let sent = 0;
      const next = () => {
        if (sent++ === chunks) return void req.end(() => ((uploaded = true), settle()));
        req.write(chunk);
        setTimeout(next, 5);
      };
      next();
    });
  }

  it('answers http.request uploading a declared body a few times over the limit with 413, not EPIPE', async () => {
    const healthy = await official(s.url, 'healthy');
    const { result: reply, slowest } = await whileHealthy(healthy, () => pacedUpload(true));
    assert.equal(reply.status, 413);
    assert.equal(reply.text, LIMIT_TEXT);
    assert.ok(slowest < HEALTHY_ROUND_TRIP_MS, `healthy round trip ${Math.round(slowest)} ms`);
  });

  it('answers a streamed (chunked) upload over the limit with 413 too', async () => {
    const reply = await pacedUpload(false);
    assert.equal(reply.status, 413);
    assert.equal(reply.text, LIMIT_TEXT);
    assert.equal((await post(`${s.base}/api`, { body: [{ topic: 'presence', action: 'query' }] })).status, 200, 'the server is fine afterwards');
  });

  it('answers a body declared beyond maxDrainSize at once, and stays up', async () => {
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers = { 'Content-Type': 'application/json', 'Content-Length': String(1024 * 1_048_576) };
      const req = httpRequest({ host: '127.0.0.1', port: s.port, path: '/api', method: 'POST', agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (part: string) => (text += part));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
          req.destroy(); // the 1 GiB is never sent
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.write('{"body":');
    });
    assert.equal(reply.status, 413);
    assert.equal(reply.text, LIMIT_TEXT);
    assert.equal((await post(`${s.base}/api`, { body: [{ topic: 'presence', action: 'query' }] })).status, 200);
  });

  it('accepts a batch of more than 100 requests: only the body size bounds it by default', async () => {
    const reply = await post(`${s.base}/api`, { body: Array.from({ length: 250 }, () => ({ topic: 'presence', action: 'query' })) });
    assert.equal(reply.status, 200);
    assert.equal(reply.json.result, 'SUCCESS');
    assert.equal(reply.json.body.length, 250);
  });
});

describe('auth-file failure data with the HTTP API enabled', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.stop();
  });

  /** What the official client's login callback is given for empty credentials. */
  async function missingCredentials(strategy: PluginEntry, withHttpApi: boolean): Promise<{ success: boolean; data: unknown }> {
    const server = await startTestServer({ plugins: [strategy, events, ...(withHttpApi ? [httpApi] : [])] });
    servers.push(server);
    const c = new DeepstreamClient(server.url, { nativeTimerRegistry: true, maxReconnectAttempts: 0 } as never);
    c.on('error', () => undefined);
    clients.push(c);
    return new Promise((resolve) => c.login({}, (success: boolean, data: unknown) => resolve({ success, data })));
  }

  it('reports the missing parameters exactly as without the HTTP API', async () => {
    const MISSING = { error: 'missing authentication parameter: username or/and password' };
    const file = authFile.with({ users: { ada: { password: 'pw' } }, hash: false });
    const alone = await missingCredentials(file, false);
    assert.deepEqual(alone, { success: false, data: { reason: MISSING } });
    assert.deepEqual(await missingCredentials(file, true), alone);
  });

  it('auth-jwt says why it refused, with the HTTP API as without it', async () => {
    const jwt = authJwt.with({ secret: 's'.repeat(32) });
    const alone = await missingCredentials(jwt, false);
    assert.equal(alone.success, false);
    assert.notEqual(alone.data, undefined, 'alone in the chain, the strategy gives its reason');
    assert.deepEqual(await missingCredentials(jwt, true), alone);
  });
});

describe('dropped HTTP messages are failures, not SUCCESS', () => {
  let s: ApiServer;
  before(async () => {
    // Per connection, as in the issue: every HTTP request is a connection of its own.
    s = await startApiServer({}, { after: [rateLimit.with({ messagesPerSecond: 1, burst: 100 })] });
  });
  after(() => s.stop());

  it('reports each emit over the limit as failed, naming the limit, and as many successes as deliveries', async () => {
    const healthy = await official(s.url, 'healthy');
    const watcher = await counter(await official(s.url, 'watcher'), 'flood');
    const { result: reply, slowest } = await whileHealthy(healthy, () => post(`${s.base}/api`, { authData: { username: 'flooder' }, body: emits('flood', 300) }));
    await roundTrip(healthy);
    await pause(100);
    assert.equal(reply.status, 200);
    assert.equal(reply.json.result, 'PARTIAL_SUCCESS');
    const reported = successes(reply.json.body);
    assert.equal(reported, watcher.count(), `reported ${reported} successes, delivered ${watcher.count()}`);
    assert.ok(reported >= 100 && reported <= 102, `the burst got through: ${reported}`);
    const failed = reply.json.body.filter((r: { success: boolean }) => !r.success);
    assert.equal(failed.length, 300 - reported);
    for (const result of failed) {
      assert.equal(result.errorEvent, 'RATE_LIMIT_EXCEEDED');
      assert.match(result.error, /^RATE_LIMIT_EXCEEDED: more than 1 messages per second \(burst 100\) per connection \(perConnection\); the message was dropped$/);
    }
    assert.ok(slowest < HEALTHY_ROUND_TRIP_MS, `healthy round trip ${Math.round(slowest)} ms`);
  });
});

describe('rate limits per user and per address, WebSocket and HTTP together', () => {
  // 0.1 per second: nothing worth counting refills while a test runs.
  const SLOW = 0.1;

  it('counts a user across WebSocket and HTTP: HTTP gets failures then 429, WebSocket is disconnected', async () => {
    const s = await startApiServer({}, { after: [rateLimit.with({ perUser: { messagesPerSecond: SLOW, burst: 20 } })] });
    try {
      const healthy = await official(s.url, 'healthy');
      const watcher = await counter(await official(s.url, 'watcher'), 'u');
      const ws = await official(s.url, 'mallet');
      for (let i = 0; i < 15; i++) ws.event.emit('u', i);
      await roundTrip(ws); // 16 messages of mallory's 20

      const { result, slowest } = await whileHealthy(healthy, async () => {
        const first = await post(`${s.base}/api`, { authData: { username: 'mallet' }, body: emits('u', 10) });
        const second = await post(`${s.base}/api`, { authData: { username: 'mallet' }, body: emits('u', 3) });
        return { first, second };
      });
      assert.equal(result.first.status, 200);
      assert.equal(successes(result.first.json.body), 4, 'what was left of the burst');
      assert.match(result.first.json.body[9].error, /per user \(perUser\); the message was dropped/);
      assert.equal(result.second.status, 429, 'every request refused: the whole request was');
      assert.equal(result.second.json.result, 'FAILURE');
      assert.ok(slowest < HEALTHY_ROUND_TRIP_MS, `healthy round trip ${Math.round(slowest)} ms`);

      const states: string[] = [];
      ws.on('connectionStateChanged', (state: string) => states.push(state));
      ws.event.emit('u', 'over');
      const deadline = Date.now() + 3000;
      while (!states.includes('CLOSED') && !states.includes('RECONNECTING') && Date.now() < deadline) await pause(20);
      assert.ok(states.length > 0 && ws.getConnectionState() !== 'OPEN', `mallory's socket was closed: ${states.join(', ')}`);
      const warn = s.logs.find((l) => l.msg === 'disconnecting a client over the message rate limit');
      assert.equal(warn?.limit, 'perUser');
      assert.equal(warn?.user, 'mallet');
      await pause(50);
      assert.equal(watcher.count(), 15 + 4, 'only what was allowed was delivered');
      assert.ok((await roundTrip(healthy)) < HEALTHY_ROUND_TRIP_MS, 'another user is not limited');
    } finally {
      await s.stop();
    }
  });

  it('counts an address across users, WebSocket and HTTP', async () => {
    const s = await startApiServer({}, { after: [rateLimit.with({ perAddress: { messagesPerSecond: SLOW, burst: 10 } })] });
    try {
      const ws = await official(s.url, 'alice');
      for (let i = 0; i < 5; i++) ws.event.emit('a', i);
      await roundTrip(ws); // 6 of 127.0.0.1's 10
      const reply = await post(`${s.base}/api`, { authData: { username: 'bob' }, body: emits('a', 10) });
      assert.equal(reply.status, 200);
      assert.equal(successes(reply.json.body), 4);
      assert.match(reply.json.body[9].error, /^RATE_LIMIT_EXCEEDED: more than 0.1 messages per second \(burst 10\) per address \(perAddress\)/);
    } finally {
      await s.stop();
    }
  });

  it('is cluster-wide: what a user sent one node counts on another', async () => {
    const plugins = [authOpen, events, presence, httpApi, rateLimit.with({ perUser: { messagesPerSecond: SLOW, burst: 20 }, clusterSyncInterval: 20 }), clusterMemory.with({ hub: new MemoryHub() })];
    const a = await startTestServer({ plugins, serverName: 'a' });
    const b = await startTestServer({ plugins, serverName: 'b' });
    try {
      const ws = await official(a.url, 'mallet');
      for (let i = 0; i < 15; i++) ws.event.emit('c', i);
      await roundTrip(ws); // 16 of 20, on node a
      await pause(150); // several sync intervals
      const reply = await post(`http://127.0.0.1:${b.port}/api`, { authData: { username: 'mallet' }, body: emits('c', 10) });
      assert.equal(reply.status, 200);
      assert.equal(successes(reply.json.body), 4, 'node b knew what node a had counted');
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it('is cluster-wide over a real Redis (cluster-redis), with a throwaway redis-server', async (t) => {
    const redis = await startRedis();
    if (isSkip(redis)) return void t.skip(redis.skip);
    const plugins = [
      authOpen,
      events,
      presence,
      httpApi,
      rateLimit.with({ perUser: { messagesPerSecond: SLOW, burst: 20 }, clusterSyncInterval: 20 }),
      clusterRedis.with({ url: redis.url, keepAliveInterval: 100, nodeTimeout: 1000 }),
    ];
    const a = await startTestServer({ plugins, serverName: 'ra' });
    const b = await startTestServer({ plugins, serverName: 'rb' });
    try {
      // The nodes know each other once an event crosses from a to b.
      const watcher = await official(b.url, 'watcher');
      const sender = await official(a.url, 'sender');
      let crossed = false;
      watcher.event.subscribe('joined', () => void (crossed = true));
      await roundTrip(watcher);
      const deadline = Date.now() + 5000;
      while (!crossed && Date.now() < deadline) {
        sender.event.emit('joined', 1);
        await pause(50);
      }
      assert.ok(crossed, 'the two nodes joined over Redis');

      const ws = await official(a.url, 'mallet');
      for (let i = 0; i < 15; i++) ws.event.emit('r', i);
      await roundTrip(ws); // 16 of 20, on node a
      await pause(200);
      const reply = await post(`http://127.0.0.1:${b.port}/api`, { authData: { username: 'mallet' }, body: emits('r', 10) });
      assert.equal(reply.status, 200);
      assert.equal(successes(reply.json.body), 4, 'node b knew what node a had counted');
    } finally {
      await b.stop();
      await a.stop();
      await redis.stop();
    }
  });
});
