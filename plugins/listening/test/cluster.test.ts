/**
 * Listening across three nodes in one process, joined by a memory hub (@deepstream-ts/cluster-memory): one active provider per name
 * cluster-wide, offers to listeners on any node, hand-over when a provider or its node goes away.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import listening, { type ListeningOptions } from '@deepstream-ts/plugin-listening';
import { listen, pause, unique } from './helpers.ts';

const settle = () => pause(300); // client batching (100 ms) plus the nodes' turns

/** Listeners currently providing `name`: offered and accepted, not stopped since. */
function holding(logs: string[][], name: string): number {
  return logs.filter((log) => log.lastIndexOf(`found ${name}`) > log.lastIndexOf(`stop ${name}`) && log.includes(`found ${name}`)).length;
}

const options = { shuffleProviders: false, responseTimeout: 200, rematchInterval: 60_000 };

/** Nodes on one memory hub, and official clients for them; `stop` closes it all. */
async function startCluster(names: string[], extra: Partial<ListeningOptions> = {}) {
  const hub = new MemoryHub();
  const nodes: TestServer[] = [];
  for (const serverName of names) {
    nodes.push(await startTestServer({ serverName, plugins: [authOpen, events, records, listening.with({ ...options, ...extra }), clusterMemory.with({ hub })] }));
  }
  const clients: DeepstreamClient[] = [];
  const closeClients = () => {
    for (const c of clients.splice(0)) c.close();
  };
  return {
    nodes,
    closeClients,
    async client(node: TestServer): Promise<DeepstreamClient> {
      const c = new DeepstreamClient(node.url);
      clients.push(c);
      await c.login();
      return c;
    },
    async stop(): Promise<void> {
      closeClients();
      await Promise.allSettled(nodes.map((node) => node.stop()));
    },
  };
}

describe('listening across three nodes', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  const client = (node: TestServer) => cluster.client(node);
  const extraClients: Array<{ close(): void }> = [];
  before(async () => {
    cluster = await startCluster(['a', 'b', 'c']);
  });
  afterEach(async () => {
    cluster.closeClients();
    for (const c of extraClients.splice(0)) c.close();
    await pause(50);
  });
  after(() => cluster.stop());
  const [a, b, c] = [() => cluster.nodes[0]!, () => cluster.nodes[1]!, () => cluster.nodes[2]!];

  it('offers a name subscribed on one node to a listener on another, and stops it when the last subscriber anywhere leaves', async () => {
    const [listener, onA, onC] = await Promise.all([client(b()), client(a()), client(c())]);
    const log = listen(listener, 'event', '^quotes/', () => true);
    await settle();
    const name = unique('quotes');
    const handler = () => undefined;
    onA.event.subscribe(name, handler);
    onC.event.subscribe(name, handler);
    await settle();
    assert.deepEqual(log, [`found ${name}`]);
    onA.event.unsubscribe(name, handler);
    await settle();
    assert.deepEqual(log, [`found ${name}`], 'a subscriber remains on c');
    onC.event.unsubscribe(name, handler);
    await settle();
    assert.deepEqual(log, [`found ${name}`, `stop ${name}`]);
  });

  it('has exactly one active provider cluster-wide, and every node\'s subscribers know it', async () => {
    const listeners = await Promise.all([client(a()), client(b()), client(c())]);
    const logs = listeners.map((l) => listen(l, 'record', '^prices/', () => true));
    await settle();
    const name = unique('prices');
    const subscribers = await Promise.all([client(a()), client(b()), client(c())]);
    const recordsOf = subscribers.map((s) => s.record.getRecord(name));
    await Promise.all(recordsOf.map((r) => r.whenReady()));
    await settle();
    assert.equal(holding(logs, name), 1, logs.join(' | '));
    assert.deepEqual(recordsOf.map((r) => r.hasProvider), [true, true, true]);
  });

  it('moves on to a listener on another node when one rejects', async () => {
    const [refuser, accepter, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
    const refused = listen(refuser, 'event', '^orders/', () => false);
    const accepted = listen(accepter, 'event', '^orders/', () => true);
    await settle();
    const name = unique('orders');
    subscriber.event.subscribe(name, () => undefined);
    await until(() => holding([accepted], name) === 1, `c provides (${refused} | ${accepted})`);
    await settle();
    assert.deepEqual(refused, [`found ${name}`], 'asked once');
    assert.deepEqual(accepted, [`found ${name}`]);
  });

  it('asks the subscriber\'s own listeners first, in registration order, then the other nodes\' (for every name)', async () => {
    // A and B on the subscriber's node c, C on a: the node hashing no longer decides who goes first.
    const [listenerA, listenerB, listenerC, subscriber] = await Promise.all([client(c()), client(c()), client(a()), client(c())]);
    const asked: string[] = [];
    const ask = (who: string, accept: boolean) => (name: string, response: { accept(): void; reject(): void }) => {
      asked.push(`${who}:${name}`);
      if (accept) response.accept();
      else response.reject();
    };
    listenerA.event.listen('^order/', ask('A', false));
    await settle();
    listenerB.event.listen('^order/', ask('B', false));
    listenerC.event.listen('^order/', ask('C', true));
    await settle();
    const names = Array.from({ length: 6 }, () => unique('order'));
    for (const name of names) subscriber.event.subscribe(name, () => undefined);
    await pause(800);
    for (const name of names) {
      assert.deepEqual(asked.filter((entry) => entry.endsWith(`:${name}`)), [`A:${name}`, `B:${name}`, `C:${name}`]);
    }
  });

  it('hands a record to a listener on another node when the provider unlistens, telling subscribers everywhere', async () => {
    const [first, second, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
    const firstLog = listen(first, 'record', '^feed/', () => true);
    await settle();
    const name = unique('feed');
    const record = subscriber.record.getRecord(name);
    await record.whenReady();
    await settle();
    assert.deepEqual(firstLog, [`found ${name}`]);
    const watcher = await RawClient.login(a().url);
    extraClients.push(watcher);
    watcher.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 'w' });
    const isNotice = (m: Message) => m.action === RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER || m.action === RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER;
    assert.equal((await watcher.next(isNotice)).action, RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER);
    const secondLog = listen(second, 'record', '^feed/', () => true);
    await settle();
    assert.deepEqual(secondLog, [], 'the name already has a provider on another node');
    first.record.unlisten('^feed/');
    await settle();
    assert.deepEqual(secondLog, [`found ${name}`]);
    const notices = [await watcher.next(isNotice), await watcher.next(isNotice)];
    assert.deepEqual(notices.map((m) => m.action), [RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER, RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER]);
    assert.equal(record.hasProvider, true);
  });
});

describe('listening when nodes claim a name at the same moment', () => {
  it('offers the name once: the claims cross, the lower server name keeps it, the other node withdraws before asking anyone', async () => {
    // No turns: every node searches as soon as it sees a first subscriber, so claims cross. The
    // barrier after a claim lets both nodes see both claims before either offers.
    const { nodes, client, stop } = await startCluster(['a', 'b'], { clusterTurn: 0 });
    try {
      const [onA, onB] = await Promise.all(nodes.map(client));
      const [logA, logB] = [listen(onA!, 'record', '^race/', () => true), listen(onB!, 'record', '^race/', () => true)];
      await settle();
      const name = unique('race');
      const [subA, subB] = await Promise.all(nodes.map(client));
      const records = [subA!.record.getRecord(name), subB!.record.getRecord(name)];
      await Promise.all(records.map((r) => r.whenReady()));
      await settle();
      assert.deepEqual([logA, logB], [[`found ${name}`], []], 'only a, the lower name, offered it; nobody was told to stop');
      assert.deepEqual(records.map((r) => r.hasProvider), [true, true]);
    } finally {
      await stop();
    }
  });
});

describe('a search that finds no taker ends there (matchCooldown 0, no rematch due)', () => {
  for (const names of [['solo'], ['a', 'b', 'c']]) {
    it(`${names.length === 1 ? 'one node' : 'three nodes'}: each refusing listener is asked once, not again and again`, async () => {
      // A short cooldown only lets the rematch come sooner: the search that failed must not
      // restart itself (its own claim ending) nor go round the nodes again.
      const { nodes, client, stop } = await startCluster(names, { matchCooldown: 0 });
      try {
        const listeners = await Promise.all(nodes.map(client));
        const logs = listeners.map((l) => listen(l, 'event', '^nobody/', () => false));
        await settle();
        const subscriber = await client(nodes[0]!);
        const name = unique('nobody');
        subscriber.event.subscribe(name, () => undefined);
        await until(() => logs.every((log) => log.length > 0), `every listener is asked (${logs.join(' | ')})`);
        await settle();
        assert.deepEqual(logs, nodes.map(() => [`found ${name}`]));
      } finally {
        await stop();
      }
    });
  }
});

describe('listening when a node goes away', () => {
  it('hands the provider\'s names to a listener on a surviving node', async () => {
    const { nodes, client, stop } = await startCluster(['a', 'b', 'c']);
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    try {
      const [first, second, subscriber] = await Promise.all([client(b), client(c), client(a)]);
      const firstLog = listen(first, 'event', '^ticks/', () => true);
      await settle();
      const name = unique('ticks');
      subscriber.event.subscribe(name, () => undefined);
      await settle();
      assert.deepEqual(firstLog, [`found ${name}`]);
      const secondLog = listen(second, 'event', '^ticks/', () => true);
      await settle();
      assert.deepEqual(secondLog, []);
      await b.stop();
      await settle();
      assert.deepEqual(secondLog, [`found ${name}`]);
    } finally {
      await stop();
    }
  });
});
