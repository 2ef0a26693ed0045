/**
 * Three server processes clustered over a real Redis, with official clients spread over them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeepstreamClient } from '@deepstream/client';
import { RECORD_ACTION, TOPIC } from '@deepstream-ts/core';
import { RawClient, until } from '@deepstream-ts/core/testing';
import { freePort, isSkip, startRedis, type RedisServer } from './services/real-servers.ts';
import { TcpBalancer } from './helpers/tcp-balancer.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;

interface Node {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  output(): string;
}

async function startNode(name: string, redisUrl: string): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', 'test/fixtures/configs/cluster.config.ts', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, DS_TEST_REDIS_URL: redisUrl, DS_TEST_NODE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 20_000);
    child.stdout!.on('data', () => output.includes('deepstream-ts is ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
  return { name, port, url: `ws://127.0.0.1:${port}/deepstream`, child, output: () => output };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a three-node cluster over Redis', { skip }, () => {
  const redis = redisServer as RedisServer;
  let nodes: Node[] = [];
  const clients: DeepstreamClient[] = [];
  async function client(node: Node | string, username?: string): Promise<DeepstreamClient> {
    // Quick reconnects: a client of a killed node comes back through the balancer within the test.
    const c = new DeepstreamClient(typeof node === 'string' ? node : node.url, { reconnectIntervalIncrement: 100, maxReconnectAttempts: 50 });
    clients.push(c);
    await c.login(username ? { username } : {});
    return c;
  }

  before(async () => {
    nodes = await Promise.all(['a', 'b', 'c'].map((name) => startNode(name, redis.url)));
    await pause(500); // heartbeats: every node learns the others
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const node of nodes) node.child.kill('SIGKILL');
    await redis.stop();
  });

  it('delivers an event emitted on one node to subscribers on the others, once, never back to the sender', async () => {
    const [onA, onB, emitterOnC] = await Promise.all([client(nodes[0]!), client(nodes[1]!), client(nodes[2]!)]);
    const got: string[] = [];
    onA.event.subscribe('news', (data) => got.push(`a:${String(data)}`));
    onB.event.subscribe('news', (data) => got.push(`b:${String(data)}`));
    let echoed = 0;
    emitterOnC.event.subscribe('news', () => echoed++);
    await pause(300);
    emitterOnC.event.emit('news', 'x');
    await pause(300);
    assert.deepEqual(got.sort(), ['a:x', 'b:x']);
    assert.equal(echoed, 1, 'the emitter sees its own event once, locally');
  });

  it('syncs record updates and deletes across nodes, with the right versions', async () => {
    const [onA, onB, onC] = await Promise.all([client(nodes[0]!), client(nodes[1]!), client(nodes[2]!)]);
    const [ra, rb, rc] = [onA.record.getRecord('shared/doc'), onB.record.getRecord('shared/doc'), onC.record.getRecord('shared/doc')];
    await Promise.all([ra.whenReady(), rb.whenReady(), rc.whenReady()]);
    await ra.setWithAck({ from: 'a' });
    await pause(200);
    await rb.setWithAck('by', 'b' as never);
    await pause(300);
    for (const r of [ra, rb, rc]) {
      assert.deepEqual(r.get(), { from: 'a', by: 'b' });
      assert.equal(r.version, 2);
    }
    const deletedOnC = new Promise<void>((resolve) => rc.on('delete', () => resolve()));
    await ra.delete();
    await deletedOnC;
  });

  it('detects version conflicts cluster-wide: two writers on different nodes, same version, one wins', async () => {
    const [onA, onB] = await Promise.all([RawClient.login(nodes[0]!.url), RawClient.login(nodes[1]!.url)]);
    try {
      for (const c of [onA, onB]) {
        c.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: ['shared/contended'], correlationId: '1' });
        await c.next((m) => m.action === RECORD_ACTION.READ_RESPONSE);
      }
      for (const [i, c] of [onA, onB].entries()) {
        c.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name: 'shared/contended', version: 1, data: JSON.stringify({ writer: i }), isWriteAck: true, correlationId: 'w' });
      }
      const replies = await Promise.all([onA, onB].map((c) => c.next((m) => m.correlationId === 'w', 3000)));
      const actions = replies.map((m) => m.action).sort();
      assert.deepEqual(actions, [RECORD_ACTION.WRITE_ACKNOWLEDGEMENT, RECORD_ACTION.VERSION_EXISTS].sort());
      const loser = replies.find((m) => m.action === RECORD_ACTION.VERSION_EXISTS)!;
      assert.equal(loser.version, 1, 'the loser learns the version that won');
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('knows who is online on every node, and a user with connections on two nodes leaves only when both are gone', async () => {
    const [alice, bob, bobAgain] = await Promise.all([client(nodes[0]!, 'alice'), client(nodes[1]!, 'bob'), client(nodes[2]!, 'bob')]);
    await pause(300);
    const online = await alice.presence.getAll(); // earlier tests' anonymous clients are online as 'open'
    assert.ok(online.includes('bob') && !online.includes('alice'), online.join(', '));
    const left: string[] = [];
    alice.presence.subscribe((user: string, online: boolean) => !online && left.push(user));
    await pause(300);
    bob.close();
    await pause(300);
    assert.deepEqual(left, [], 'bob is still online on node c');
    assert.deepEqual(await alice.presence.getAll(['bob']), { bob: true });
    bobAgain.close();
    await pause(300);
    assert.deepEqual(left, ['bob']);
  });

  it('routes an RPC made on one node to a provider on another, re-routing across nodes on reject', async () => {
    const [onB, onC, caller] = await Promise.all([client(nodes[1]!), client(nodes[2]!), client(nodes[0]!)]);
    const asked: string[] = [];
    onB.rpc.provide('cluster/double', (n: number, response) => {
      asked.push('b');
      response.reject();
    });
    onC.rpc.provide('cluster/double', (n: number, response) => {
      asked.push('c');
      response.send(n * 2);
    });
    await pause(300);
    for (let i = 0; i < 3; i++) assert.equal(await caller.rpc.make('cluster/double', 21), 42);
    assert.ok(asked.includes('b') && asked.filter((n) => n === 'c').length === 3, asked.join(','));
    await assert.rejects(caller.rpc.make('cluster/nobody', null), (error) => error === 'NO_RPC_PROVIDER');
  });

  it('gives a name exactly one listening provider across the cluster, known to subscribers on every node', async () => {
    const listeners = await Promise.all(nodes.map((node) => client(node)));
    const offers: string[] = [];
    for (const [i, l] of listeners.entries()) {
      l.record.listen('^cluster-listen/', (name, response) => {
        offers.push(`${nodes[i]!.name}:${name}`);
        response.accept();
      });
    }
    await pause(300);
    const subscribers = await Promise.all(nodes.map((node) => client(node)));
    const records = subscribers.map((s) => s.record.getRecord('cluster-listen/x'));
    await Promise.all(records.map((r) => r.whenReady()));
    await pause(500);
    assert.equal(offers.length, 1, offers.join(', '));
    assert.deepEqual(records.map((r) => r.hasProvider), [true, true, true]);
  });

  it('survives a node killed with SIGKILL: within the node timeout its users leave, its providers are replaced, its clients come back through the balancer', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const balancer = new TcpBalancer([c.port, a.port, b.port]);
    const viaBalancer = await balancer.listen();
    try {
      const watcher = await client(a, 'watcher');
      const dave = await client(c, 'dave'); // connected to c itself: nowhere to reconnect to
      dave.on('error', () => undefined);
      // A client of c (through the balancer) with an event, a record with an acknowledged write, and an RPC it provides.
      const mover = await client(viaBalancer, 'carol');
      const events: unknown[] = [];
      mover.event.subscribe('moved/event', (data) => events.push(data));
      const doc = mover.record.getRecord('moved/doc');
      await doc.whenReady();
      await doc.setWithAck({ acknowledged: true });
      mover.rpc.provide('moved/whoami', (_data, response) => response.send('carol'));
      // A listener on c providing a name subscribed on a; a second listener on b waits.
      const [listenerOnC, listenerOnB, subscriberOnA] = await Promise.all([client(c), client(b), client(a)]);
      const offers: string[] = [];
      for (const [node, l] of [['c', listenerOnC], ['b', listenerOnB]] as const) {
        l.event.listen('^handover/', (name, response) => {
          offers.push(`${node}:${name}`);
          response.accept();
        });
      }
      await pause(300);
      subscriberOnA.event.subscribe('handover/1', () => undefined);
      await pause(400);
      assert.ok((await watcher.presence.getAll()).includes('dave'));
      assert.deepEqual(offers, ['c:handover/1']);

      c.child.kill('SIGKILL');
      await pause(1600); // nodeTimeout is 1000 ms in this cluster
      assert.match(a.output(), /cluster node gone.*"node":"c"|"node":"c".*cluster node gone/);
      assert.ok(!(await watcher.presence.getAll()).includes('dave'), 'users of the dead node are offline');
      assert.deepEqual(offers, ['c:handover/1', 'b:handover/1'], 'the surviving listener took the name over');

      // The mover reconnected through the balancer to a, logged in again and resubscribed.
      await until(() => mover.getConnectionState() === 'OPEN', 'the client of the dead node is back', 5000);
      await pause(400);
      assert.ok((await watcher.presence.getAll()).includes('carol'), 'online again, from node a');
      const [onA, onB] = await Promise.all([client(a), client(b)]);
      onB.event.emit('moved/event', 'after the failover');
      await until(() => events.includes('after the failover'), 'the event reaches the moved client');
      const seenFromB = onB.record.getRecord('moved/doc');
      await seenFromB.whenReady();
      assert.deepEqual(seenFromB.get(), { acknowledged: true }, 'the acknowledged write survived its node');
      await seenFromB.setWithAck('after', 'kill' as never);
      await until(() => (doc.get() as { after?: string }).after === 'kill', 'the moved record follows updates');
      assert.equal(await onA.rpc.make('moved/whoami', null), 'carol', 'the moved provider serves again');
    } finally {
      await balancer.stop();
    }
  });

  it('takes a restarted node back under the same name: it serves the latest data and joins every feature again', async () => {
    // State held before c comes back (a provider, a user on a) must reach it when it joins.
    const onA = await client(nodes[0]!, 'anna');
    onA.rpc.provide('rejoined/ping', (_d, response) => response.send('pong from a'));
    await pause(200);
    const restarted = await startNode('c', redis.url);
    nodes[2] = restarted;
    await pause(500); // heartbeats: the others see a new incarnation of c
    const onC = await client(restarted, 'chris');
    const doc = onC.record.getRecord('moved/doc');
    await doc.whenReady();
    assert.deepEqual(doc.get(), { acknowledged: true, after: 'kill' }, 'written before c restarted, read through c');
    const got = new Promise((resolve) => onC.event.subscribe('rejoined', resolve));
    await pause(300);
    onA.event.emit('rejoined', 'hello c');
    assert.equal(await got, 'hello c');
    assert.equal(await onC.rpc.make('rejoined/ping', null), 'pong from a');
    assert.ok((await onA.presence.getAll()).includes('chris'));
    assert.ok((await onC.presence.getAll()).includes('anna'), 'c learned who was online before it joined');
  });

  it('comes back together after Redis itself restarts: membership, presence, events and RPC', async () => {
    const [a, b] = nodes as [Node, Node];
    const [onA, onB] = await Promise.all([client(a, 'before-outage'), client(b, 'bea')]);
    onB.rpc.provide('outage/echo', (data, response) => response.send(data));
    await pause(300);
    redis.kill();
    await pause(1500); // longer than nodeTimeout: every node is alone now
    assert.match(a.output(), /cluster node gone.*"node":"b"|"node":"b".*cluster node gone/);
    await redis.restart();
    // ioredis reconnects and resubscribes; heartbeats make the nodes meet again and swap their state.
    let online: string[] = [];
    const giveUp = Date.now() + 8000;
    while (!online.includes('bea') && Date.now() < giveUp) {
      await pause(200);
      online = await onA.presence.getAll();
    }
    assert.ok(online.includes('bea'), `b's users are back in a's view: ${online.join(', ')}`);
    const got = new Promise((resolve) => onB.event.subscribe('after-outage', resolve));
    await pause(300);
    onA.event.emit('after-outage', 'redis is back');
    assert.equal(await got, 'redis is back');
    assert.equal(await onA.rpc.make('outage/echo', 'ping'), 'ping');
  });
});
