/**
 * Interest-based traffic over a MemoryHub (PROTOCOL §10, "interest"): keyed sends reach only the
 * nodes that registered interest, a registration that resolved is never overtaken by a send made
 * after it, and a transport without keyed methods falls back to broadcasts filtered on arrival.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterNode, EVENT_ACTION, TOPIC, type ClusterTransport, type Message } from '@deepstream-ts/core';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import { clusterMemory, MemoryHub, type MemoryTransport } from '../src/index.ts';

const quiet = pino({ level: 'silent' });
const timing = { keepAliveInterval: 50, nodeTimeout: 500 };
const tick = () => new Promise((resolve) => setImmediate(resolve));
const emit = (name: string, data = '1'): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data });

/** The first byte of a data, batch or keyed frame (not a heartbeat, leave, ping or pong): PROTOCOL §10. */
const DATA_KINDS = new Set([0, 3, 6]);

/** A node's end of the hub, counting the frames that reach it and the keyed calls it makes. */
class Counted implements ClusterTransport {
  readonly description = 'counted';
  /** Data frames received (heartbeats and barriers not counted). */
  frames = 0;
  subscribeCalls: string[][] = [];
  unsubscribeCalls: string[][] = [];
  publishKeyCalls = 0;
  subscribeKeys?: (keys: readonly string[]) => Promise<void>;
  unsubscribeKeys?: (keys: readonly string[]) => Promise<void>;
  publishKey?: (key: string, bytes: Uint8Array) => void;

  constructor(
    private readonly inner: ClusterTransport,
    keyed = true,
  ) {
    if (!keyed) return;
    this.subscribeKeys = async (keys) => {
      this.subscribeCalls.push([...keys]);
      // As over a network: the subscription takes effect a while after the call, then the call returns.
      if (this.slowSubscribe) await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      return inner.subscribeKeys!(keys);
    };
    this.unsubscribeKeys = (keys) => {
      this.unsubscribeCalls.push([...keys]);
      return inner.unsubscribeKeys!(keys);
    };
    this.publishKey = (key, bytes) => {
      this.publishKeyCalls++;
      inner.publishKey!(key, bytes);
    };
  }

  start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void> {
    return this.inner.start(serverName, (bytes) => {
      if (DATA_KINDS.has(bytes[0]!)) this.frames++;
      receive(bytes);
    });
  }
  slowSubscribe = false;
  /** While set, this node's broadcasts (its heartbeats) go nowhere: the others do not know it yet. */
  muted = false;
  publish(bytes: Uint8Array): void {
    if (!this.muted) this.inner.publish(bytes);
  }
  publishTo(serverName: string, bytes: Uint8Array): void {
    this.inner.publishTo(serverName, bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Member {
  node: ClusterNode;
  transport: Counted;
  got: string[];
}

async function member(hub: MemoryHub, name: string, { keyed = true, linger = 30 } = {}): Promise<Member> {
  const node = new ClusterNode(name, quiet, { interestLinger: linger });
  const transport = new Counted(hub.transport(), keyed);
  const got: string[] = [];
  node.subscribe('event', (message) => got.push(`${message.name}=${message.data}`));
  await node.start(transport, timing);
  return { node, transport, got };
}

async function cluster(count: number, options?: { keyed?: boolean; linger?: number }): Promise<{ hub: MemoryHub; members: Member[]; close(): Promise<void> }> {
  const hub = new MemoryHub();
  const members: Member[] = [];
  for (let i = 0; i < count; i++) members.push(await member(hub, String.fromCharCode(97 + i), options));
  await until(() => members.every((m) => m.node.peers.size === count - 1), 'every node knows the others');
  for (const m of members) m.transport.frames = 0;
  return { hub, members, close: () => Promise.all(members.map((m) => m.node.close())).then(() => undefined) };
}

describe('cluster interest over a MemoryHub', () => {
  it('delivers a keyed send only to the nodes interested in its key; a node with none gets no frame at all', async () => {
    const { members, close } = await cluster(3);
    const [a, b, c] = members as [Member, Member, Member];
    try {
      await b.node.interest('event', 'news');
      a.node.sendKeyed('event', 'news', emit('news', 'n1'));
      a.node.sendKeyed('event', 'sport', emit('sport', 's1'));
      await until(() => b.got.length === 1, 'b got the news');
      await tick();
      assert.deepEqual(b.got, ['news=n1']);
      assert.equal(b.transport.frames, 1, 'b received only the frame of its key');
      assert.equal(c.transport.frames, 0, 'c, interested in nothing, received nothing');
      assert.deepEqual(c.got, []);
      assert.deepEqual(a.got, [], 'never back to the sender');
    } finally {
      await close();
    }
  });

  it('never loses a send made right after interest resolved on another node (500 names, each sent at once)', async () => {
    const { members, close } = await cluster(2);
    const [a, b] = members as [Member, Member];
    b.transport.slowSubscribe = true;
    try {
      for (let i = 0; i < 500; i++) {
        const registered = b.node.interest('event', `name-${i}`);
        assert.ok(registered instanceof Promise, 'a new key is registered with the transport first');
        await registered;
        a.node.sendKeyed('event', `name-${i}`, emit(`name-${i}`, String(i)));
      }
      await until(() => b.got.length === 500, 'b got every send');
      assert.deepEqual(b.got, Array.from({ length: 500 }, (_, i) => `name-${i}=${i}`));
    } finally {
      await close();
    }
  });

  it('reaches a node that registered interest before any peer has heard of it', async () => {
    const hub = new MemoryHub();
    const a = await member(hub, 'a');
    const node = new ClusterNode('late', quiet);
    const transport = new Counted(hub.transport());
    transport.muted = true;
    const late: Member = { node, transport, got: [] };
    node.subscribe('event', (message) => late.got.push(`${message.name}=${message.data}`));
    await node.start(transport, timing);
    try {
      await tick();
      assert.equal(a.node.peers.size, 0, 'a has not heard of late');
      await late.node.interest('event', 'x');
      a.node.sendKeyed('event', 'x', emit('x', 'first'));
      await until(() => late.got.length === 1, 'late got the first send');
      assert.deepEqual(late.got, ['x=first']);
    } finally {
      await Promise.all([a.node.close(), late.node.close()]);
    }
  });

  it('subscribes the keys of one turn in one transport call, and a key already held costs none', async () => {
    const { members, close } = await cluster(2);
    const b = members[1]!;
    try {
      const names = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`);
      const first = b.node.interest('event', names.slice(0, 600));
      const rest = b.node.interest('event', names.slice(600));
      for (const name of names.slice(0, 10)) b.node.interest('event', name);
      assert.equal(first, rest, 'one turn, one registration');
      await first;
      assert.equal(b.transport.subscribeCalls.length, 1);
      assert.equal(b.transport.subscribeCalls[0]!.length, 1000);
      assert.equal(b.node.interest('event', 'bulk-1'), undefined, 'registered already: nothing to wait for');
      assert.equal(b.node.interested('event', names), undefined);
      assert.equal(b.transport.subscribeCalls.length, 1);
    } finally {
      await close();
    }
  });

  it('stops the traffic once the last interest in a key is dropped and its linger is over; a key taken back meanwhile stays', async () => {
    const { hub, members, close } = await cluster(2, { linger: 30 });
    const [a, b] = members as [Member, Member];
    try {
      await b.node.interest('event', ['gone', 'kept']);
      b.node.interest('event', 'gone'); // two holders
      b.node.dropInterest('event', 'gone');
      b.node.dropInterest('event', ['gone', 'kept']);
      b.node.interest('event', 'kept'); // taken back while lingering: no new subscription
      a.node.sendKeyed('event', 'gone', emit('gone', 'lingering'));
      await until(() => b.got.length === 1, 'a lingering key still delivers');
      await until(() => b.transport.unsubscribeCalls.length === 1, 'the linger ended');
      assert.deepEqual(b.transport.unsubscribeCalls, [['event:gone']]);
      assert.deepEqual(hub.keysOf('b'), ['event:kept']);
      assert.equal(b.transport.subscribeCalls.length, 1);
      b.transport.frames = 0;
      a.node.sendKeyed('event', 'gone', emit('gone', 'after'));
      a.node.sendKeyed('event', 'kept', emit('kept', 'after'));
      await until(() => b.got.length === 2, 'the kept key still delivers');
      await tick();
      assert.deepEqual(b.got, ['gone=lingering', 'kept=after']);
      assert.equal(b.transport.frames, 1, 'nothing of the dropped key reached b');
    } finally {
      await close();
    }
  });

  it('keeps one sender’s order: a keyed frame never overtakes a broadcast sent before it; a run of one key is one publish', async () => {
    const { members, close } = await cluster(2);
    const [a, b] = members as [Member, Member];
    try {
      await b.node.interest('event', 'k');
      a.node.send('event', emit('broadcast', '1'));
      a.node.sendKeyed('event', 'k', emit('k', '2'));
      a.node.sendKeyed('event', 'k', emit('k', '3'));
      a.node.send('event', emit('broadcast', '4'));
      a.node.sendKeyed('event', 'k', emit('k', '5'));
      await until(() => b.got.length === 5, 'b got all five');
      assert.deepEqual(b.got, ['broadcast=1', 'k=2', 'k=3', 'broadcast=4', 'k=5']);
      assert.equal(a.transport.publishKeyCalls, 2, 'k=2 and k=3 left as one batch');
    } finally {
      await close();
    }
  });

  it('over a transport without keyed methods, broadcasts and filters on arrival: the same deliveries', async () => {
    const { members, close } = await cluster(3, { keyed: false });
    const [a, b, c] = members as [Member, Member, Member];
    try {
      assert.equal(b.node.interest('event', 'news'), undefined, 'nothing to wait for: every node receives every frame');
      a.node.sendKeyed('event', 'news', emit('news', 'n1'));
      a.node.sendKeyed('event', 'sport', emit('sport', 's1'));
      await until(() => c.transport.frames > 0 && b.got.length === 1, 'the broadcast arrived');
      await tick();
      assert.deepEqual(b.got, ['news=n1']);
      assert.deepEqual(c.got, [], 'received, not delivered: c wants neither key');
      b.node.dropInterest('event', 'news');
      await new Promise((resolve) => setTimeout(resolve, 60)); // past the linger
      a.node.sendKeyed('event', 'news', emit('news', 'n2'));
      await until(() => c.transport.frames > 1, 'the second broadcast arrived');
      await tick();
      assert.deepEqual(b.got, ['news=n1'], 'dropped interest: no longer delivered');
    } finally {
      await close();
    }
  });

  it('wantAll: a node gets every keyed send of the channel once the others know, and only its keys again after dropAll', async () => {
    const { members, close } = await cluster(3);
    const [a, b, c] = members as [Member, Member, Member];
    try {
      await b.node.interest('event', 'news');
      await c.node.wantAll('event');
      a.node.sendKeyed('event', 'news', emit('news', '1'));
      a.node.sendKeyed('event', 'other', emit('other', '2'));
      await until(() => c.got.length === 2 && b.got.length === 1, 'both delivered');
      await tick();
      assert.deepEqual(c.got, ['news=1', 'other=2']);
      assert.deepEqual(b.got, ['news=1'], 'once, not once per route');
      c.node.dropAll('event');
      await a.node.barrier(); // c's announcement reached a
      a.node.sendKeyed('event', 'other', emit('other', '3'));
      a.node.sendKeyed('event', 'news', emit('news', '4'));
      await until(() => b.got.length === 2, 'b got the second news');
      await tick();
      assert.deepEqual(c.got, ['news=1', 'other=2']);
      assert.ok(a.transport.publishKeyCalls > 0, 'keyed again');
    } finally {
      await close();
    }
  });

  it('costs a lone node nothing: no promise, no frame', async () => {
    const node = new ClusterNode('alone', quiet);
    assert.equal(node.interest('event', ['a', 'b']), undefined);
    assert.equal(node.interested('event', 'a'), undefined);
    node.sendKeyed('event', 'a', emit('a'));
    node.dropInterest('event', ['a', 'b']);
    await node.close();
  });
});

/** A hub whose transports count what reaches each node. */
class CountingHub extends MemoryHub {
  readonly counted: Counted[] = [];
  override transport(): MemoryTransport {
    const counted = new Counted(super.transport());
    this.counted.push(counted);
    return counted as unknown as MemoryTransport;
  }
}

describe('interest with official clients over a MemoryHub', () => {
  it('sends an event only to the node with its subscriber: the node without one receives no frame for it', async () => {
    const hub = new CountingHub();
    const servers: TestServer[] = [];
    const clients: DeepstreamClient[] = [];
    try {
      for (const serverName of ['a', 'b', 'c']) servers.push(await startTestServer({ serverName, plugins: [authOpen, events, clusterMemory.with({ hub, keepAliveInterval: 100, nodeTimeout: 1000 })] }));
      const [onA, onB, onC] = await Promise.all(servers.map(async (server) => {
        const client = new DeepstreamClient(server.url);
        clients.push(client);
        await client.login({});
        return client;
      }));
      const got: unknown[] = [];
      const onCgot: unknown[] = [];
      onA!.event.subscribe('news', (data) => got.push(data));
      onC!.event.subscribe('weather', (data) => onCgot.push(data));
      await until(() => hub.keysOf('a').includes('event:news') && hub.keysOf('c').includes('event:weather'), 'a and c registered their names');
      const c = hub.counted[2]!;
      c.frames = 0;
      for (let i = 0; i < 20; i++) onB!.event.emit('news', i);
      await until(() => got.length === 20, 'a got every emit');
      onB!.event.emit('weather', 'sunny');
      await until(() => onCgot.length === 1, 'c got its own name');
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
      assert.equal(c.frames, 1, 'c received the frame of its own name only, none of the 20 news');
    } finally {
      for (const client of clients) client.close();
      for (const server of servers.reverse()) await server.stop();
    }
  });
});
