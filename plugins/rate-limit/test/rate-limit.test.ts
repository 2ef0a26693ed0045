import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { DeepstreamClient } from '@deepstream/client';
import { CONNECTION_ACTION, EVENT_ACTION, TOPIC, isDeepstreamError, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import rateLimit from '@deepstream-ts/plugin-rate-limit';
import { KeyedBuckets } from '../src/keyed-buckets.ts';
import { TokenBucket } from '../src/token-bucket.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const open: Array<{ close(): void }> = [];

async function raw(s: TestServer, username: string): Promise<RawClient> {
  const c = await RawClient.login(s.url, { username });
  c.ws.on('error', () => undefined);
  open.push(c);
  return c;
}
const emit = (c: RawClient, name: string, data = '"x"') => c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data });
const isEmit = (name: string) => (m: Message) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === name;
const isError = (m: Message) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ERROR;
async function subscribe(c: RawClient, name: string): Promise<void> {
  c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId: name });
  await c.next((m) => m.topic === TOPIC.EVENT && m.isAck === true && m.correlationId === name);
}
const overLimit = (s: TestServer) => s.logs.filter((l) => l.msg === 'disconnecting a client over the message rate limit');

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('the token bucket', () => {
  it('allows a burst, then the sustained rate', () => {
    const bucket = new TokenBucket(10, 3, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
    assert.equal(bucket.take(50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(100), true, 'one token after 100 ms at 10/s');
    assert.equal(bucket.take(10_000), true);
    assert.deepEqual([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)], [true, true, false], 'never more than the burst');
  });
});

describe('buckets per key', () => {
  it('forgets a key once its bucket has refilled, and keeps busy keys', () => {
    const keys = new KeyedBuckets({ messagesPerSecond: 10, burst: 5 });
    for (let i = 0; i < 5; i++) keys.take('busy', 0);
    keys.take('quiet', 0);
    keys.sweep(200, false); // quiet: full again after 100 ms; busy: 2 of 5 back
    assert.deepEqual([...keys.buckets.keys()], ['busy']);
    assert.equal(keys.take('busy', 200), true);
    assert.equal(keys.take('busy', 200), true);
    assert.equal(keys.take('busy', 200), false, 'the sweep did not reset a busy key');
    keys.sweep(10_000, true);
    assert.deepEqual([...keys.buckets.keys()], ['busy'], 'counts not yet sent to the other nodes are kept');
    keys.sweep(10_000, false);
    assert.equal(keys.buckets.size, 0);
  });

  it('debits what other nodes counted, never below minus the burst', () => {
    const keys = new KeyedBuckets({ messagesPerSecond: 10, burst: 5 });
    keys.debit('u', 1000, 0);
    assert.equal(keys.take('u', 0), false);
    assert.equal(keys.take('u', 500), false, 'from -5, 500 ms at 10/s refill to 0');
    assert.equal(keys.take('u', 600), true, 'and 100 ms more to 1');
  });
});

describe('rate limit over the wire', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: [authOpen, events, rateLimit.with({ messagesPerSecond: 20, burst: 10 })] });
  });
  after(() => s.stop());

  it('tells a flooding client why, disconnects it with one warn line, and routes nothing past the limit', async () => {
    const watcher = await raw(s, 'watcher');
    await subscribe(watcher, 'flood');
    const flooder = await raw(s, 'flooder');
    const started = performance.now();
    for (let i = 0; i < 100; i++) emit(flooder, 'flood', String(i));

    const error = await flooder.next(isError);
    const elapsed = performance.now() - started;
    assert.equal(error.isError, true);
    assert.match(JSON.parse(error.data!) as string, /^RATE_LIMIT_EXCEEDED: more than 20 messages per second \(burst 10\)/);
    await flooder.closed;

    await pause(100);
    const delivered = watcher.received.filter(isEmit('flood')).length;
    const allowed = 10 + Math.ceil((elapsed / 1000) * 20);
    assert.ok(delivered >= 10 && delivered <= allowed, `the burst and what refilled in ${Math.round(elapsed)} ms got through (at most ${allowed}), not the flood: ${delivered}`);
    const lines = overLimit(s);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.user, 'flooder');
    assert.equal(lines[0]!.messagesPerSecond, 20);
  });

  it('leaves other clients alone while one floods', async () => {
    const before = overLimit(s).length;
    const a = await raw(s, 'a');
    const b = await raw(s, 'b');
    await subscribe(b, 'calm');
    const flooder = await raw(s, 'flooder2');
    for (let i = 0; i < 200; i++) emit(flooder, 'noise');
    await flooder.closed;
    for (let i = 0; i < 5; i++) {
      emit(a, 'calm', String(i));
      await b.next((m) => isEmit('calm')(m) && m.data === String(i));
    }
    assert.equal(a.ws.readyState, a.ws.OPEN);
    assert.equal(b.ws.readyState, b.ws.OPEN);
    assert.equal(overLimit(s).length, before + 1, 'only the flooder was disconnected');
  });

  it('lets a client that stays under the rate talk forever, and refills after a burst', async () => {
    const c = await raw(s, 'steady');
    const receiver = await raw(s, 'receiver');
    await subscribe(receiver, 'steady');
    for (let i = 0; i < 10; i++) emit(c, 'steady', String(i)); // the whole burst at once
    await pause(600); // 12 tokens at 20/s, capped at 10
    for (let i = 10; i < 30; i++) {
      emit(c, 'steady', String(i));
      await pause(100); // 10/s, half the limit
    }
    await receiver.next((m) => isEmit('steady')(m) && m.data === '29');
    assert.equal(await c.nothingWithin(50, isError), true);
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });

  it('does not count PING', async () => {
    const c = await raw(s, 'pinger');
    for (let i = 0; i < 100; i++) c.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    for (let i = 0; i < 100; i++) await c.next((m) => m.action === CONNECTION_ACTION.PONG && m.topic === TOPIC.CONNECTION);
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });

  it('the official client is disconnected, reconnects by itself and works again', async () => {
    const c = new DeepstreamClient(s.url, { nativeTimerRegistry: true, subscriptionInterval: 0 } as never);
    open.push(c);
    const states: string[] = [];
    c.on('connectionStateChanged', (state: string) => states.push(state));
    await c.login({ username: 'official' });
    const receiver = await raw(s, 'r2');
    await subscribe(receiver, 'after');
    for (let i = 0; i < 100; i++) c.event.emit('spam', i);
    const deadline = Date.now() + 5000;
    while (!(states.includes('RECONNECTING') && c.getConnectionState() === 'OPEN') && Date.now() < deadline) await pause(20);
    assert.ok(states.includes('RECONNECTING'), `states: ${states.join(', ')}`);
    assert.equal(c.getConnectionState(), 'OPEN');
    c.event.emit('after', 'fine');
    const message = await receiver.next(isEmit('after'));
    assert.equal(message.data, '"fine"');
  });
});

describe('rate limit options', () => {
  it('refuses to start without messagesPerSecond, naming the option', async () => {
    await assert.rejects(startTestServer({ plugins: [authOpen, rateLimit] }), (error) =>
      isDeepstreamError(error, 'DS_PLUGIN_OPTIONS_INVALID') && /option "messagesPerSecond" must be a positive number; it is missing/.test(error.message),
    );
  });

  it('names the limit of a bad perUser or perAddress setting, and refuses two per-connection forms', async () => {
    await assert.rejects(startTestServer({ plugins: [authOpen, rateLimit.with({ perUser: { messagesPerSecond: 5, burst: 0 } })] }), /option "perUser\.burst" must be a number >= 1, got 0/);
    await assert.rejects(startTestServer({ plugins: [authOpen, rateLimit.with({ perAddress: { messagesPerSecond: -1 } })] }), /option "perAddress\.messagesPerSecond" must be a positive number, got -1/);
    await assert.rejects(
      startTestServer({ plugins: [authOpen, rateLimit.with({ messagesPerSecond: 5, perConnection: { messagesPerSecond: 5 } })] }),
      /messagesPerSecond\/burst and perConnection set the same limit/,
    );
    await assert.rejects(startTestServer({ plugins: [authOpen, rateLimit.with({ perUser: { messagesPerSecond: 5 }, sweepInterval: 0 })] }), /option "sweepInterval" must be a positive integer, got 0/);
  });

  it('refuses a burst below one', async () => {
    await assert.rejects(startTestServer({ plugins: [authOpen, rateLimit.with({ messagesPerSecond: 5, burst: 0 })] }), /option "burst" must be a number >= 1, got 0/);
  });
});
