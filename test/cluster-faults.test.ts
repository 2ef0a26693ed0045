/**
 * Faults under load in a three-node cluster (issue #18, item 5): a node killed with SIGKILL,
 * Redis restarted, a node paused (SIGSTOP) past nodeTimeout and resumed. Records live in a real
 * PostgreSQL behind a shared Redis cache; every client is the official one. What must hold: every
 * acknowledged record write is there afterwards, no client gets one event twice, and the cluster
 * comes back to one shared state.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { DeepstreamClient } from '@deepstream/client';
import { freePort, isSkip, startPostgres, startRedis, type PostgresServer, type RedisServer } from './services/real-servers.ts';
import { TcpBalancer } from './helpers/tcp-balancer.ts';
import { startCli } from './helpers/cli-server.ts';
import { until } from '@deepstream-ts/core/testing';

const [redisServer, postgresServer] = await Promise.all([startRedis(), startPostgres()]);
const skip = isSkip(redisServer) ? redisServer.skip : isSkip(postgresServer) ? postgresServer.skip : false;

interface Node {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
}

async function startNode(name: string, redisUrl: string, postgresUrl: string): Promise<Node> {
  const port = await freePort();
  const { child } = await startCli(['--config', 'test/fixtures/configs/cluster-durable.config.ts', '--port', String(port)], { DS_TEST_REDIS_URL: redisUrl, DS_TEST_POSTGRES_URL: postgresUrl, DS_TEST_NODE: name });
  return { name, port, url: `ws://127.0.0.1:${port}/deepstream`, child };
}

/** Progress lines with DS_TEST_DEBUG=1. */
const log = (...args: unknown[]) => process.env.DS_TEST_DEBUG && console.error(new Date().toISOString(), ...args);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client writing 1, 2, 3… to the `n` of its own record with acknowledgements, as fast as the
 * acks come. A write that is not answered within a second is left pending (it may still be
 * acknowledged later, after a reconnect) and the next one goes out; `acked` is the highest value
 * the server acknowledged, whenever it did.
 */
class Writer {
  acked = 0;
  failed = 0;
  private next = 0;
  private running = true;
  private readonly pending = new Set<Promise<void>>();
  readonly done: Promise<void>;

  constructor(
    readonly client: DeepstreamClient,
    readonly name: string,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const record = this.client.record.getRecord(this.name);
    await record.whenReady();
    while (this.running) {
      const value = ++this.next;
      const write = Promise.resolve(record.setWithAck('n', value)).then(
        () => void (this.acked = Math.max(this.acked, value)),
        () => void this.failed++,
      );
      this.pending.add(write);
      void write.finally(() => this.pending.delete(write));
      const failedBefore = this.failed;
      await Promise.race([write, pause(1000)]);
      // Refused at once (the client is offline): back off a little rather than spin.
      if (this.failed > failedBefore) await pause(20);
    }
  }

  /** Stops writing and waits (bounded) for the writes still in flight to be answered. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await Promise.race([Promise.allSettled([...this.pending]), pause(5000)]);
  }
}

/** Subscribes to `name` and keeps every sequence number it receives, duplicates included. */
function sequenceOf(client: DeepstreamClient, name: string): number[] {
  const seen: number[] = [];
  client.event.subscribe(name, (data) => seen.push(data as number));
  return seen;
}
const duplicatesIn = (seen: number[]) => seen.filter((n, i) => seen.indexOf(n) !== i);

describe('faults under load in a three-node cluster over Redis and PostgreSQL', { skip, timeout: 90_000 }, () => {
  const redis = redisServer as RedisServer;
  const postgres = postgresServer as PostgresServer;
  let nodes: Node[] = [];
  const clients: DeepstreamClient[] = [];
  const balancers: TcpBalancer[] = [];
  async function client(url: string, username?: string): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(url, { reconnectIntervalIncrement: 100, maxReconnectInterval: 500, maxReconnectAttempts: 100 });
    c.on('error', () => undefined); // connection errors are the point of these tests
    clients.push(c);
    await c.login(username ? { username } : {});
    return c;
  }
  /** Connections go to the first of `order` that accepts, so a node's clients move when it dies. */
  async function balancer(order: Node[]): Promise<string> {
    const b = new TcpBalancer(order.map((n) => n.port));
    balancers.push(b);
    return b.listen();
  }
  /** A fresh client on `node` reads every writer's record: each holds at least what was acknowledged. */
  async function assertAcknowledgedWritesKept(node: Node, writers: Writer[]): Promise<void> {
    const reader = await client(node.url);
    for (const writer of writers) {
      assert.ok(writer.acked > 0, `${writer.name}: some writes were acknowledged`);
      const stored = (await reader.record.snapshot(writer.name)) as { n?: number };
      log(writer.name, 'acknowledged', writer.acked, 'refused', writer.failed, 'stored', stored.n);
      assert.ok((stored.n ?? 0) >= writer.acked, `${writer.name}: ${writer.acked} was acknowledged, ${stored.n} is stored`);
    }
  }

  before(async () => {
    nodes = [];
    for (const name of ['a', 'b', 'c']) nodes.push(await startNode(name, redis.url, postgres.url));
    await pause(500); // heartbeats: every node learns the others
    log('nodes started');
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const b of balancers) await b.stop();
    for (const node of nodes) node.child.kill('SIGKILL');
    await Promise.all([redis.stop(), postgres.stop()]);
  });

  it('a node killed with SIGKILL under load: its clients move, every acknowledged write is kept, no event arrives twice', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const viaC = await balancer([c, a, b]); // c first: these clients live on c until it dies
    const writers = [
      ...(await Promise.all([0, 1, 2].map(async (i) => new Writer(await client(viaC), `faults/kill/on-c-${i}`)))),
      new Writer(await client(a.url), 'faults/kill/on-a'),
      new Writer(await client(b.url), 'faults/kill/on-b'),
    ];
    const movers = await Promise.all([0, 1].map(() => client(viaC)));
    const stayer = await client(b.url);
    const seen = [...movers, stayer].map((s) => sequenceOf(s, 'faults/kill/seq'));
    await pause(300); // the subscriptions reach the server
    const emitter = await client(a.url);
    let sent = 0;
    const emitting = setInterval(() => emitter.event.emit('faults/kill/seq', ++sent), 5);

    log('load running', sent, writers.map((w) => w.acked));
    await pause(1000);
    c.child.kill('SIGKILL');
    log('killed c', sent, writers.map((w) => w.acked));
    await pause(3000); // nodeTimeout is 1000 ms; the clients of c reconnect through the balancer
    const afterKill = sent;
    log('after kill', sent, writers.map((w) => w.acked), seen.map((x) => x.length));
    await until(() => seen.every((s) => s.some((n) => n > afterKill)), 'every subscriber, moved or not, receives events again', 8000);
    clearInterval(emitting);
    await Promise.all(writers.map((w) => w.stop()));

    for (const [i, s] of seen.entries()) assert.deepEqual(duplicatesIn(s), [], `subscriber ${i} got no event twice`);
    assert.ok(seen[2]!.length >= sent * 0.9, `the subscriber on a live node missed almost nothing (${seen[2]!.length} of ${sent})`);
    for (const writer of writers.slice(0, 3)) assert.ok(writer.acked > 0 && writer.client.getConnectionState() === 'OPEN', `${writer.name} moved and writes again`);
    await assertAcknowledgedWritesKept(b, writers);
    nodes[2] = await startNode('c', redis.url, postgres.url); // for the tests after this one
    await pause(500);
  });

  it('Redis restarted under load: writes resume, every acknowledged one is kept (the cache is lost, storage is not)', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const writers = [a, b, c].map((node, i) => client(node.url).then((cl) => new Writer(cl, `faults/redis/${i}`)));
    const started = await Promise.all(writers);
    await pause(800);
    const ackedBefore = started.map((w) => w.acked);
    log('before the outage', ackedBefore);
    redis.kill();
    await pause(1500); // past nodeTimeout: every node is alone, every cache write fails
    log('during the outage', started.map((w) => w.acked), started.map((w) => w.failed));
    await redis.restart();
    await until(() => started.every((w, i) => w.acked > ackedBefore[i]! + 5), 'every writer is acknowledged again after the restart', 15_000);
    await Promise.all(started.map((w) => w.stop()));
    for (const node of nodes) await assertAcknowledgedWritesKept(node, started);
  });

  it('a node paused past nodeTimeout and resumed rejoins with one shared state: presence, RPC, events and records', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const [onA, onC] = await Promise.all([client(a.url, 'anna'), client(c.url, 'carl')]);
    const onB = await client(b.url, 'paused-bob');
    onB.rpc.provide('faults/paused/where', (_data, response) => response.send('b'));
    const events: unknown[] = [];
    onB.event.subscribe('faults/paused/news', (data) => events.push(data));
    const doc = onB.record.getRecord('faults/paused/doc');
    await doc.whenReady();
    await until(async () => (await onA.presence.getAll()).includes('paused-bob'), 'a sees bob before the pause');

    b.child.kill('SIGSTOP');
    try {
      await until(async () => !(await onA.presence.getAll()).includes('paused-bob'), 'a drops the paused node within nodeTimeout', 3000);
      assert.equal(await onA.rpc.make('faults/paused/where', null).catch((error: unknown) => String(error)), 'NO_RPC_PROVIDER', "the paused node's provider is gone");
      await pause(1000);
    } finally {
      b.child.kill('SIGCONT');
    }

    // One state again: every node sees the same users, and every feature crosses to and from b.
    await until(async () => (await onA.presence.getAll()).includes('paused-bob') && (await onC.presence.getAll()).includes('paused-bob'), 'bob is back in a and c', 5000);
    await until(async () => {
      const users = (await onB.presence.getAll()).sort();
      return users.includes('anna') && users.includes('carl');
    }, 'b sees the users of a and c again', 5000);
    await until(async () => (await onA.rpc.make('faults/paused/where', null).catch(() => undefined)) === 'b', "b's provider serves a again", 5000);
    await until(() => {
      onC.event.emit('faults/paused/news', 'resumed');
      return events.includes('resumed');
    }, "c's events reach b's subscriber", 5000);
    const fromA = onA.record.getRecord('faults/paused/doc');
    await fromA.whenReady();
    await fromA.setWithAck('state', 'after the pause');
    await until(() => (doc.get('state') as unknown) === 'after the pause', "a's write reaches b's subscriber", 5000);
  });
});
