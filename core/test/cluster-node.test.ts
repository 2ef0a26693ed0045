/**
 * The ClusterNode itself. What every transport must do under it (membership, ordering, batching,
 * garbage, close) is the shared contract in test/contracts/cluster-transport.ts, run by the
 * cluster connectors; here: what the node does alone, and its error isolation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterNode, EVENT_ACTION, TOPIC, clusterCodec, definePlugin, isDeepstreamError, type ClusterTransport, type Message } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';

const quiet = pino({ level: 'silent' });
const tick = () => new Promise((resolve) => setImmediate(resolve));
const event = (name: string): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: '1' });
const timing = { keepAliveInterval: 50, nodeTimeout: 200 };

/** A synchronous pub/sub between transports, counting what is published. */
class Wire {
  readonly members = new Map<string, (bytes: Uint8Array) => void>();
  publishes = 0;
  transport(options: { alone?: boolean } = {}): ClusterTransport {
    let self = '';
    return {
      description: 'wire',
      alone: options.alone,
      start: async (serverName, receive) => {
        self = serverName;
        this.members.set(serverName, receive);
      },
      publish: (bytes) => {
        this.publishes++;
        for (const receive of this.members.values()) receive(bytes);
      },
      publishTo: (serverName, bytes) => {
        this.publishes++;
        this.members.get(serverName)?.(bytes);
      },
      close: async () => void this.members.delete(self),
    };
  }
}

async function pair() {
  const wire = new Wire();
  const [a, b] = [new ClusterNode('a', quiet), new ClusterNode('b', quiet)];
  await a.start(wire.transport(), timing);
  await b.start(wire.transport(), timing);
  await tick();
  return { wire, a, b };
}

describe('ClusterNode alone', () => {
  it('keeps no timer, sends no heartbeat and encodes nothing over a transport that reaches nobody', async (t) => {
    const setInterval = t.mock.method(globalThis, 'setInterval');
    const encode = t.mock.method(clusterCodec, 'encode');
    const wire = new Wire();
    const node = new ClusterNode('alone', quiet);
    node.subscribe('events', () => assert.fail('nothing arrives'));
    await node.start(wire.transport({ alone: true }), timing);
    for (let i = 0; i < 1000; i++) node.send('events', event(`e${i}`));
    await tick();
    await node.close();
    assert.equal(setInterval.mock.callCount(), 0);
    assert.equal(encode.mock.callCount(), 0);
    assert.equal(wire.publishes, 0);

    // The same node over a transport that reaches others does keep a heartbeat timer.
    const joined = new ClusterNode('joined', quiet);
    await joined.start(wire.transport(), timing);
    assert.equal(setInterval.mock.callCount(), 1);
    assert.equal(wire.publishes, 1, 'its first heartbeat');
    await joined.close();
  });

  it('is what a kernel runs without a cluster connector', async () => {
    const server = await startTestServer({ plugins: [] });
    try {
      const cluster = server.kernel.service('cluster');
      assert.ok(cluster instanceof ClusterNode);
      assert.equal(cluster.peers.size, 0);
      assert.ok(!server.logs.some((line) => line.msg === 'joined the cluster'));
    } finally {
      await server.stop();
    }
  });
});

describe('ClusterNode', () => {
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

  it('still tells the other membership handlers when one throws', async () => {
    const wire = new Wire();
    const a = new ClusterNode('a', quiet);
    const seen: string[] = [];
    a.onMembership(() => {
      throw new Error('a faulty plugin');
    });
    a.onMembership((change, node) => seen.push(`${change} ${node}`));
    await a.start(wire.transport(), timing);
    const b = new ClusterNode('b', quiet);
    await b.start(wire.transport(), timing);
    await b.close();
    assert.deepEqual(seen, ['join b', 'leave b']);
    await a.close();
  });

  it('closes a transport that fails to start and stays alone; the kernel refuses to start with DS_CLUSTER_UNAVAILABLE', async () => {
    let closed = 0;
    const broken: ClusterTransport = {
      description: 'broken:nowhere',
      start: async () => {
        throw new Error('connection refused');
      },
      publish: () => assert.fail('nothing is published over a transport that did not start'),
      publishTo: () => assert.fail('nothing is published over a transport that did not start'),
      close: async () => void closed++,
    };
    const connector = definePlugin({
      name: 'broken-cluster',
      version: '1.0.0',
      kernel: '^0.1.0',
      provides: ['clusterTransport'],
      setup: (ctx) => ctx.provide('clusterTransport', { transport: broken, timing }),
    });
    await assert.rejects(startTestServer({ plugins: [connector] }), (error: unknown) => {
      assert.ok(isDeepstreamError(error));
      assert.equal(error.code, 'DS_CLUSTER_UNAVAILABLE');
      assert.match(error.message, /cannot join the cluster over broken:nowhere: connection refused/);
      return true;
    });
    assert.equal(closed, 1, 'closed once, by the node that could not start on it');
  });
});
