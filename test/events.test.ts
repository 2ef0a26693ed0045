import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, TOPIC, definePlugin, type DeepstreamConfig } from '@deepstream-ts/core';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

const open: Array<{ close(): void }> = [];
async function client(url: string, username?: string): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(url);
  open.push(c);
  await c.login(username ? { username } : {});
  return c;
}
async function raw(url: string): Promise<RawClient> {
  const c = await RawClient.login(url);
  open.push(c);
  return c;
}
/** One server per suite; clients opened by a test are closed after it. */
function useServer(config: DeepstreamConfig): () => TestServer {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(config);
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  after(() => server.stop());
  return () => server;
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The client batches subscriptions for 100 ms; give the server time to see them. */
const settle = () => pause(250);

describe('events with the official client', () => {
  const server = useServer({ plugins: [authOpen, events] });

  it('delivers an emit to every other subscriber, and not back to the sender', async () => {
    const [alice, bob, carol] = await Promise.all([client(server().url, 'alice'), client(server().url, 'bob'), client(server().url, 'carol')]);
    const got: Array<[string, unknown]> = [];
    alice.event.subscribe('chat', (data) => got.push(['alice', data]));
    bob.event.subscribe('chat', (data) => got.push(['bob', data]));
    const carolGot = new Promise((resolve) => carol.event.subscribe('chat', resolve));
    await settle();
    alice.event.emit('chat', { text: 'hi' });
    assert.deepEqual(await carolGot, { text: 'hi' });
    await pause(100);
    // alice sees her own emit once, from her client; an echo from the server would make it twice.
    assert.deepEqual(got.sort(), [['alice', { text: 'hi' }], ['bob', { text: 'hi' }]]);
  });

  it('relays every JSON payload type unchanged, and no payload as undefined', async () => {
    const [sender, receiver] = await Promise.all([client(server().url), client(server().url)]);
    const got: unknown[] = [];
    receiver.event.subscribe('payloads', (data) => got.push(data));
    await settle();
    const payloads = ['text', 0, 12.5, true, false, null, [1, 'two', { three: 3 }], { nested: { deep: ['x'] } }, undefined];
    for (const payload of payloads) sender.event.emit('payloads', payload as never);
    await pause(200);
    assert.deepEqual(got, payloads);
  });

  it('stops delivering after unsubscribe, and only to the unsubscribed client', async () => {
    const [sender, leaver, stayer] = await Promise.all([client(server().url), client(server().url), client(server().url)]);
    const left: unknown[] = [];
    const stayed: unknown[] = [];
    const onLeft = (data: unknown) => left.push(data);
    leaver.event.subscribe('topic', onLeft);
    stayer.event.subscribe('topic', (data) => stayed.push(data));
    await settle();
    sender.event.emit('topic', 1);
    await pause(100);
    leaver.event.unsubscribe('topic', onLeft);
    await settle();
    sender.event.emit('topic', 2);
    await pause(150);
    assert.deepEqual(left, [1]);
    assert.deepEqual(stayed, [1, 2]);
  });

  it('keeps events on different names apart', async () => {
    const [sender, receiver] = await Promise.all([client(server().url), client(server().url)]);
    const got: string[] = [];
    receiver.event.subscribe('a', () => got.push('a'));
    receiver.event.subscribe('b', () => got.push('b'));
    await settle();
    sender.event.emit('b', null);
    sender.event.emit('c', null);
    sender.event.emit('a', null);
    await pause(150);
    assert.deepEqual(got, ['b', 'a']);
  });

  it('forgets a client that disconnects: others keep receiving, nothing is left behind', async () => {
    const [sender, stays] = await Promise.all([client(server().url), client(server().url)]);
    const goes = new DeepstreamClient(server().url);
    await goes.login();
    goes.event.subscribe('leaving', () => undefined);
    const received = new Promise((resolve) => stays.event.subscribe('leaving', resolve));
    await settle();
    goes.close();
    await pause(100);
    sender.event.emit('leaving', 'still here');
    assert.equal(await received, 'still here');
    assert.equal(server().warnings().length, 0, JSON.stringify(server().warnings()));
  });
});

describe('event protocol details', () => {
  const server = useServer({ plugins: [authOpen, events] });

  it('acks a bulk subscribe with its correlationId and no names', async () => {
    const c = await raw(server().url);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['x', 'y', 'z'], correlationId: '7' });
    const ack = await c.next();
    assert.deepEqual(ack, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, correlationId: '7', isAck: true, names: [] });
  });

  it('answers a duplicate subscription with MULTIPLE_SUBSCRIPTIONS and still acks', async () => {
    const c = await raw(server().url);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['dup'], correlationId: '1' });
    await c.next((m) => m.isAck === true);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['dup'], correlationId: '2' });
    assert.deepEqual(await c.next(), {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS,
      name: 'dup',
      originalAction: EVENT_ACTION.SUBSCRIBE,
      names: [],
    });
    assert.equal((await c.next()).correlationId, '2');
  });

  it('acks unsubscribe of names never subscribed, silently', async () => {
    const c = await raw(server().url);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.UNSUBSCRIBE, names: ['never'], correlationId: '3' });
    assert.deepEqual(await c.next(), { topic: TOPIC.EVENT, action: EVENT_ACTION.UNSUBSCRIBE, correlationId: '3', isAck: true, names: [] });
    assert.ok(await c.nothingWithin(100));
  });

  it('sends nothing back to the emitter, and no data field for an emit without payload', async () => {
    const [emitter, subscriber] = await Promise.all([raw(server().url), raw(server().url)]);
    for (const c of [emitter, subscriber]) {
      c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['bare'], correlationId: '1' });
      await c.next((m) => m.isAck === true);
    }
    emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'bare' });
    assert.deepEqual(await subscriber.next(), { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'bare', names: [] });
    assert.ok(await emitter.nothingWithin(150));
  });
});

describe('events across nodes (in one process, over a memory hub)', () => {
  it('delivers an emit on node A to subscribers on node B once, and not back to the sender', async () => {
    const plugins = [authOpen, events, clusterMemory.with({ hub: new MemoryHub() })];
    const a = await startTestServer({ serverName: 'a', plugins });
    const b = await startTestServer({ serverName: 'b', plugins });
    try {
      const [onA, onB, senderOnB] = await Promise.all([client(a.url), client(b.url), client(b.url)]);
      const gotA: unknown[] = [];
      const gotB: unknown[] = [];
      onA.event.subscribe('news', (d) => gotA.push(d));
      onB.event.subscribe('news', (d) => gotB.push(d));
      await settle();
      senderOnB.event.emit('news', 'from b');
      await pause(200);
      assert.deepEqual(gotA, ['from b']);
      assert.deepEqual(gotB, ['from b']);
    } finally {
      for (const c of open.splice(0)) c.close();
      await a.stop();
      await b.stop();
    }
  });
});

describe('events with a permission plugin', () => {
  // Denies anything under secret/, asynchronously, as a rule that loads data would.
  const guard = definePlugin({
    name: 'secret-guard',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authorize.tapPromise(ctx.name, async ({ name }) => (name.startsWith('secret/') ? { allowed: false } : undefined));
    },
  });
  const server = useServer({ plugins: [authOpen, events, guard] });

  it('checks bulk subscriptions per name: denied names get MESSAGE_DENIED, the rest are subscribed and acked', async () => {
    const [c, emitter] = await Promise.all([raw(server().url), raw(server().url)]);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['open/a', 'secret/b', 'open/c'], correlationId: '4' });
    assert.deepEqual(await c.next(), {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.MESSAGE_DENIED,
      name: 'secret/b',
      originalAction: EVENT_ACTION.SUBSCRIBE,
      correlationId: '4',
      isError: true,
      names: [],
    });
    assert.equal((await c.next()).isAck, true);
    emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'open/c', data: '1' });
    assert.equal((await c.next()).name, 'open/c');
  });

  it('sends no ack when every name is denied, and denies emits', async () => {
    const c = await raw(server().url);
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['secret/x'], correlationId: '5' });
    assert.equal((await c.next()).action, EVENT_ACTION.MESSAGE_DENIED);
    assert.ok(await c.nothingWithin(150));
    c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'secret/x', data: '"psst"' });
    assert.deepEqual(await c.next(), {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.MESSAGE_DENIED,
      name: 'secret/x',
      originalAction: EVENT_ACTION.EMIT,
      isError: true,
      names: [],
    });
  });

  it('the official client gets its allowed events and is told about denied ones', async () => {
    const [sender, receiver] = await Promise.all([client(server().url), client(server().url)]);
    const errors: string[] = [];
    receiver.on('error', (_error: unknown, event: string) => errors.push(event));
    const got = new Promise((resolve) => receiver.event.subscribe('open/news', resolve));
    receiver.event.subscribe('secret/plans', () => assert.fail('a denied subscription delivered an event'));
    await settle();
    sender.event.emit('secret/plans', 'x');
    sender.event.emit('open/news', 'y');
    assert.equal(await got, 'y');
    assert.ok(errors.includes('MESSAGE_DENIED'), `receiver errors: ${errors.join(', ')}`);
  });
});
