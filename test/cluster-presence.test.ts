/**
 * Presence read-your-writes across nodes (issue #18, EVENTS_RPC_PRESENCE §3.6):
 * once a login has been answered on one node, a query on any other node reports the user online;
 * once a node has seen a connection close, queries elsewhere report the user offline; a node that
 * dies takes its users with it within `nodeTimeout`. Three in-process nodes over a real Redis,
 * official clients and raw frames.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { PRESENCE_ACTION, TOPIC, definePlugin, type ClusterTransport } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import clusterRedis, { RedisTransport } from '@deepstream-ts/cluster-redis';
import { isSkip, startRedis, type RedisServer } from './services/real-servers.ts';

const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TIMING = { keepAliveInterval: 200, nodeTimeout: 1000 };

/** A Redis transport that can be cut in both directions without a goodbye: the node looks dead to the others. */
class SeverableTransport implements ClusterTransport {
  readonly description = 'severable redis';
  severed = false;
  private readonly inner: RedisTransport;
  constructor(url: string, channelPrefix: string) {
    this.inner = new RedisTransport({ url, channelPrefix });
  }
  start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void> {
    return this.inner.start(serverName, (bytes) => this.severed || receive(bytes));
  }
  publish(bytes: Uint8Array): void {
    if (!this.severed) this.inner.publish(bytes);
  }
  publishTo(serverName: string, bytes: Uint8Array): void {
    if (!this.severed) this.inner.publishTo(serverName, bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('presence across a three-node cluster over Redis', { skip, timeout: 120_000 }, () => {
  const redis = redisServer as RedisServer;
  const nodes: TestServer[] = [];
  let severable: SeverableTransport;
  let open: Array<{ close(): void }> = [];
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;

  async function login(node: TestServer, username: string): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(node.url, { nativeTimerRegistry: true } as never);
    open.push(c);
    await c.login({ username });
    return c;
  }
  async function raw(node: TestServer, username: string): Promise<RawClient> {
    const c = await RawClient.login(node.url, { username });
    open.push(c);
    return c;
  }
  /** The raw QUERY the official client's `getAll([...])` sends, answered as `{user: online}`. */
  async function rawQuery(c: RawClient, names: string[]): Promise<Record<string, boolean>> {
    const correlationId = String(counter++);
    c.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId, names });
    const reply = await c.next((m) => m.action === PRESENCE_ACTION.QUERY_RESPONSE && m.correlationId === correlationId);
    return JSON.parse(reply.data!) as Record<string, boolean>;
  }
  const sessionsOf = (node: TestServer) => node.kernel.sessions.size;

  before(async () => {
    const prefix = `presence-${process.pid}-${Date.now()}:`;
    severable = new SeverableTransport(redis.url, prefix);
    const severableCluster = definePlugin({
      name: 'severable-cluster',
      version: '1.0.0',
      kernel: '^0.1.0',
      provides: ['clusterTransport'],
      setup(ctx) {
        ctx.provide('clusterTransport', { transport: severable, timing: TIMING });
      },
    });
    for (const name of ['one', 'two', 'three']) {
      const cluster = name === 'three' ? severableCluster : clusterRedis.with({ url: redis.url, channelPrefix: prefix, ...TIMING });
      nodes.push(await startTestServer({ serverName: name, plugins: [authOpen, presence, cluster] }));
    }
    await until(() => nodes.every((n) => n.kernel.service('cluster')!.peers.size === 2), 'the nodes found each other', 5000);
  });
  afterEach(async () => {
    for (const c of open) c.close();
    open = [];
    await until(() => nodes.every((n) => sessionsOf(n) === 0), 'every client is gone');
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await redis.stop();
  });

  it('a login answered on one node is reported online by a query on another, at once (official client)', async () => {
    const [one, two] = nodes as [TestServer, TestServer];
    const asker = await login(one, fresh('A'));
    for (let i = 0; i < 20; i++) {
      const [b, c] = [fresh('B'), fresh('C')];
      await login(two, b);
      assert.deepEqual(await asker.presence.getAll([b, c]), { [b]: true, [c]: false }, `round ${i}`);
    }
  });

  it('the same for raw QUERY frames, and for QUERY_ALL', async () => {
    const [one, two, three] = nodes as [TestServer, TestServer, TestServer];
    const asker = await raw(one, fresh('A'));
    for (let i = 0; i < 20; i++) {
      const b = fresh('B');
      await raw(i % 2 === 0 ? two : three, b);
      assert.deepEqual(await rawQuery(asker, [b, 'nobody']), { [b]: true, nobody: false }, `round ${i}`);
      asker.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL });
      const all = await asker.next((m) => m.action === PRESENCE_ACTION.QUERY_ALL_RESPONSE);
      assert.ok(all.names?.includes(b), `round ${i}: QUERY_ALL lists ${b}`);
    }
  });

  it('queries waiting for the cluster are answered in the order they were asked', async () => {
    const [one, two] = nodes as [TestServer, TestServer];
    const asker = await raw(one, fresh('A'));
    const b = fresh('B');
    await raw(two, b);
    const ids = ['q1', 'q2', 'q3', 'q4'];
    asker.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId: 'q1', names: [b] });
    asker.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId: 'q2', names: ['nobody'] });
    await pause(1); // the next two in a later turn: a second barrier
    asker.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId: 'q3', names: [b] });
    asker.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId: 'q4', names: [b, 'nobody'] });
    const replies = [];
    for (const _ of ids) replies.push(await asker.next((m) => m.action === PRESENCE_ACTION.QUERY_RESPONSE));
    assert.deepEqual(replies.map((m) => m.correlationId), ids);
    assert.deepEqual(JSON.parse(replies[3]!.data!), { [b]: true, nobody: false });
  });

  it('a clean close: once its node has seen it, queries on the other nodes report the user offline at once', async () => {
    const [one, two] = nodes as [TestServer, TestServer];
    const asker = await raw(one, fresh('A'));
    for (let i = 0; i < 10; i++) {
      const b = fresh('B');
      const leaving = await raw(two, b);
      leaving.close();
      await until(() => sessionsOf(two) === 0, 'node two saw the close', 2000);
      assert.deepEqual(await rawQuery(asker, [b]), { [b]: false }, `round ${i}`);
    }
  });

  it('a user with connections on two nodes stays online until the last one closes', async () => {
    const [one, two, three] = nodes as [TestServer, TestServer, TestServer];
    const asker = await login(one, fresh('A'));
    const b = fresh('B');
    const first = await raw(two, b);
    const second = await raw(three, b);
    first.close();
    await until(() => sessionsOf(two) === 0, 'node two saw the close', 2000);
    assert.deepEqual(await asker.presence.getAll([b]), { [b]: true }, 'still connected on node three');
    second.close();
    await until(() => sessionsOf(three) === 0, 'node three saw the close', 2000);
    assert.deepEqual(await asker.presence.getAll([b]), { [b]: false });
  });

  it('a node that dies without a word takes its users with it within nodeTimeout', async () => {
    const [one, , three] = nodes as [TestServer, TestServer, TestServer];
    const asker = await raw(one, fresh('A'));
    const b = fresh('B');
    await raw(three, b);
    assert.deepEqual(await rawQuery(asker, [b]), { [b]: true });
    severable.severed = true;
    try {
      const cut = Date.now();
      // A query meanwhile waits for the silent peer, but not past nodeTimeout.
      await rawQuery(asker, [b]);
      assert.ok(Date.now() - cut <= TIMING.nodeTimeout + 300, `a query waited ${Date.now() - cut} ms for a silent peer`);
      await until(async () => (await rawQuery(asker, [b]))[b] === false, `${b} is reported offline`, TIMING.nodeTimeout + 2000);
      const took = Date.now() - cut;
      // Dropped by the first heartbeat check after nodeTimeout of silence (checks every keepAliveInterval).
      assert.ok(took <= TIMING.nodeTimeout + 2 * TIMING.keepAliveInterval + 300, `seen offline after ${took} ms`);
    } finally {
      severable.severed = false;
    }
    await until(() => one.kernel.service('cluster')!.peers.size === 2, 'node three is back', 5000);
  });
});
