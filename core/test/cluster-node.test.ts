import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterNode, EVENT_ACTION, TOPIC, type ClusterTransport, type Message } from '@deepstream-ts/core';

const quiet = pino({ level: 'silent' });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An in-memory pub/sub between transports, counting what is published. */
class Wire {
  readonly members = new Map<string, (bytes: Uint8Array) => void>();
  /** Nodes whose frames are lost, as if the process had been killed. */
  readonly silenced = new Set<string>();
  publishes = 0;
  transport(): ClusterTransport {
    let self = '';
    return {
      description: 'memory',
      start: async (serverName, receive) => {
        self = serverName;
        this.members.set(serverName, receive);
      },
      publish: (bytes) => {
        if (this.silenced.has(self)) return;
        this.publishes++;
        for (const receive of this.members.values()) receive(bytes.slice());
      },
      publishTo: (serverName, bytes) => {
        if (this.silenced.has(self)) return;
        this.publishes++;
        this.members.get(serverName)?.(bytes.slice());
      },
      close: async () => void this.members.delete(self),
    };
  }
}

const event = (name: string): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: '1' });
const timing = { keepAliveInterval: 50, nodeTimeout: 200 };

async function pair() {
  const wire = new Wire();
  const a = new ClusterNode('a', wire.transport(), timing, quiet);
  const b = new ClusterNode('b', wire.transport(), timing, quiet);
  await a.start();
  await b.start();
  await tick();
  return { wire, a, b };
}

describe('ClusterNode', () => {
  it('learns its peers from heartbeats and tells when one leaves', async () => {
    const { a, b } = await pair();
    const changes: string[] = [];
    a.onMembership((change, node) => changes.push(`${change} ${node}`));
    assert.deepEqual([...a.peers], ['b']);
    assert.deepEqual([...b.peers], ['a']);
    await b.close();
    assert.deepEqual(changes, ['leave b']);
    assert.equal(a.peers.size, 0);
    await a.close();
  });

  it('sends the broadcasts of one turn as one publish, delivered in order, and keeps direct sends behind them', async () => {
    const { wire, a, b } = await pair();
    const got: string[] = [];
    b.subscribe('events', (message, from) => got.push(`${from}:${message.name}`));
    b.subscribe('direct', (message) => got.push(`direct:${message.name}`));
    const before = wire.publishes;
    for (let i = 0; i < 50; i++) a.send('events', event(`e${i}`));
    a.sendDirect('b', 'direct', event('after'));
    a.send('events', event('last'));
    await tick();
    assert.deepEqual(got, [...Array.from({ length: 50 }, (_, i) => `a:e${i}`), 'direct:after', 'a:last']);
    assert.equal(wire.publishes - before, 3, 'one batch, one direct, one single frame');
    await Promise.all([a.close(), b.close()]);
  });

  it('drops a node that stops sending heartbeats, after the node timeout', async () => {
    const { wire, a, b } = await pair();
    // The heartbeat timer does not hold the process open; this one does, until b is dropped.
    let keepAlive: NodeJS.Timeout | undefined;
    const left = new Promise((resolve) => {
      keepAlive = setTimeout(() => resolve('still there'), 2000);
      a.onMembership((change, node) => change === 'leave' && resolve(node));
    });
    wire.silenced.add('b'); // b goes silent without a goodbye, as with kill -9
    const started = Date.now();
    assert.equal(await left, 'b');
    clearTimeout(keepAlive);
    assert.ok(Date.now() - started < 600);
    await Promise.all([a.close(), b.close()]);
  });

  it('still delivers to the other handlers of a channel when one throws', async () => {
    const { a, b } = await pair();
    const got: string[] = [];
    b.subscribe('events', () => {
      throw new Error('a faulty plugin');
    });
    b.subscribe('events', (message) => got.push(message.name ?? ''));
    a.send('events', event('x'));
    await tick();
    assert.deepEqual(got, ['x']);
    await Promise.all([a.close(), b.close()]);
  });

  it('ignores garbage and truncated batches without throwing', async () => {
    const { wire, a, b } = await pair();
    const got: string[] = [];
    b.subscribe('events', (message) => got.push(message.name ?? ''));
    const receive = wire.members.get('b')!;
    receive(new Uint8Array([3, 1, 0x61, 0, 0, 0, 200, 1, 2])); // a batch from "a" claiming 200 bytes
    receive(new Uint8Array([0, 1, 0x61, 6, ...Buffer.from('events'), 0xff, 0xff]));
    receive(new Uint8Array([]));
    a.send('events', event('fine'));
    await tick();
    assert.deepEqual(got, ['fine']);
    await Promise.all([a.close(), b.close()]);
  });
});
