/**
 * The contract every ClusterTransport keeps, checked on the raw transport and through the
 * kernel's ClusterNode running over it (what plugins see as the `cluster` service). A connector's
 * test file calls `clusterTransportContract('redis', medium)`; the same suite runs against every
 * implementation.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterNode, EVENT_ACTION, TOPIC, type ClusterTiming, type ClusterTransport, type Message } from '@deepstream-ts/core';
import { until } from '@deepstream-ts/core/testing';

export interface ClusterMedium {
  /** A new, unstarted transport that reaches the other transports of this medium and no others. */
  transport(): ClusterTransport;
}

/** A fresh medium per test (a new hub, a new channel prefix…), so that tests cannot hear each other. */
export type MediumFactory = () => ClusterMedium;

const TIMING: ClusterTiming = { keepAliveInterval: 50, nodeTimeout: 250 };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const event = (name: string, data = '1'): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data });

/** The first byte of a ClusterNode frame that carries messages (a data frame or a batch of them), not a heartbeat. */
const carriesMessages = (bytes: Uint8Array) => bytes[0] === 0 || bytes[0] === 3;

/**
 * A transport whose cable can be cut: the node goes silent without a goodbye, as with kill -9.
 * It counts the publishes that carry messages (heartbeats come and go on their own timer).
 */
class Cable implements ClusterTransport {
  cut = false;
  publishes = 0;
  constructor(readonly inner: ClusterTransport) {}
  get description(): string {
    return this.inner.description;
  }
  start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void> {
    return this.inner.start(serverName, (bytes) => this.cut || receive(bytes));
  }
  publish(bytes: Uint8Array): void {
    if (this.cut) return;
    if (carriesMessages(bytes)) this.publishes++;
    this.inner.publish(bytes);
  }
  publishTo(serverName: string, bytes: Uint8Array): void {
    if (this.cut) return;
    if (carriesMessages(bytes)) this.publishes++;
    this.inner.publishTo(serverName, bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A node with what it logged at warn or above, its membership changes and its cable. */
interface TestNode {
  node: ClusterNode;
  cable: Cable;
  warnings: string[];
  changes: string[];
}

/** What a raw transport received, as text of the bytes. */
function recorder() {
  const got: Uint8Array[] = [];
  return { got, receive: (bytes: Uint8Array) => void got.push(Uint8Array.from(bytes)), text: () => got.map((b) => Buffer.from(b).toString()) };
}

export function clusterTransportContract(label: string, newMedium: MediumFactory): void {
  describe(`cluster transport contract: ${label}`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((o) => o.close()));
    });

    let medium: ClusterMedium;
    const raw = async (serverName: string) => {
      const transport = medium.transport();
      open.push(transport);
      const seen = recorder();
      await transport.start(serverName, seen.receive);
      return { transport, ...seen };
    };
    const node = async (serverName: string, timing = TIMING): Promise<TestNode> => {
      const warnings: string[] = [];
      const log = pino({ level: 'warn', base: undefined }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
      const cable = new Cable(medium.transport());
      const node = new ClusterNode(serverName, log);
      const changes: string[] = [];
      node.onMembership((change, name) => changes.push(`${change} ${name}`));
      open.push(node);
      await node.start(cable, timing);
      return { node, cable, warnings, changes };
    };
    /** Nodes started one after the other, each knowing all the others. */
    const nodes = async (...names: string[]): Promise<TestNode[]> => {
      const started: TestNode[] = [];
      for (const name of names) started.push(await node(name));
      await until(() => started.every((n) => n.node.peers.size === names.length - 1), 'every node knows every other');
      return started;
    };
    const fresh = () => (medium = newMedium());

    describe('the raw transport', () => {
      it('describes itself for logs', () => {
        fresh();
        const transport = medium.transport();
        assert.equal(typeof transport.description, 'string');
        assert.ok(transport.description.length > 0);
      });

      it('publishes to every other transport of the medium, bytes intact', async () => {
        fresh();
        const [a, b, c] = [await raw('a'), await raw('b'), await raw('c')];
        const every = Uint8Array.from({ length: 256 }, (_, i) => i);
        a.transport.publish(every);
        await until(() => b.got.length === 1 && c.got.length === 1, 'b and c received');
        assert.deepEqual(b.got[0], every);
        assert.deepEqual(c.got[0], every);
        assert.ok(a.got.length <= 1, 'the sender hears its own broadcast at most once (the node ignores it)');
      });

      it('sends directly to the named transport only', async () => {
        fresh();
        const [a, b, c] = [await raw('a'), await raw('b'), await raw('c')];
        a.transport.publishTo('b', Buffer.from('for b'));
        a.transport.publish(Buffer.from('marker'));
        // One sender's frames keep their order: once c has the marker, a direct frame to c would be there too.
        await until(() => b.got.length === 2 && c.got.length === 1, 'the marker reached b and c');
        assert.deepEqual(b.text(), ['for b', 'marker']);
        assert.deepEqual(c.text(), ['marker']);
      });

      it("keeps one sender's frames in order, broadcasts and direct sends mixed", async () => {
        fresh();
        const [a, b] = [await raw('a'), await raw('b')];
        const sent: string[] = [];
        for (let i = 0; i < 300; i++) {
          const frame = `frame ${i}`;
          sent.push(frame);
          if (i % 3 === 0) a.transport.publishTo('b', Buffer.from(frame));
          else a.transport.publish(Buffer.from(frame));
        }
        await until(() => b.got.length === sent.length, 'b received all');
        assert.deepEqual(b.text(), sent);
      });

      it('delivers nothing to a closed transport, and a closed transport publishes without throwing', async () => {
        fresh();
        const [a, b, c] = [await raw('a'), await raw('b'), await raw('c')];
        await b.transport.close();
        a.transport.publish(Buffer.from('after'));
        a.transport.publishTo('b', Buffer.from('direct after'));
        a.transport.publish(Buffer.from('marker'));
        await until(() => c.got.length === 2, 'c received both broadcasts');
        assert.deepEqual(b.got, []);
        b.transport.publish(Buffer.from('from the closed one'));
        b.transport.publishTo('a', Buffer.from('from the closed one'));
        await pause(100);
        assert.ok(!a.text().includes('from the closed one'));
      });
    });

    describe('a ClusterNode over it', () => {
      it('barrier: once it resolves, every peer has what the caller sent, and the caller what the peers sent before', async () => {
        fresh();
        const [a, b, c] = await nodes('a', 'b', 'c');
        const got: string[] = [];
        for (const n of [a!, b!, c!]) n.node.subscribe('news', (m) => got.push(`${n.node.serverName}<-${m.name}`));
        a!.node.send('news', event('from-a'));
        b!.node.send('news', event('from-b'));
        await a!.node.barrier();
        // a's message reached b and c; b's (sent before a asked) reached a.
        for (const expected of ['b<-from-a', 'c<-from-a', 'a<-from-b']) assert.ok(got.includes(expected), `${expected} in ${got.join(' ')}`);
        await Promise.all([a!.node.barrier(), a!.node.barrier()]); // the calls of one turn share a round trip
      });

      it('barrier: a peer gone silent counts as answered within nodeTimeout', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        b!.cable.cut = true;
        const started = Date.now();
        await a!.node.barrier();
        assert.ok(Date.now() - started < TIMING.nodeTimeout * 3, 'resolved once b timed out');
      });

      it('learns its peers as they join, each once', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        assert.deepEqual([...a!.node.peers], ['b']);
        assert.deepEqual([...b!.node.peers], ['a']);
        const c = await node('c');
        await until(() => c.node.peers.size === 2 && a!.node.peers.size === 2 && b!.node.peers.size === 2, 'everyone knows c');
        await pause(3 * TIMING.keepAliveInterval); // heartbeats go on: still one join each
        assert.deepEqual(a!.changes, ['join b', 'join c']);
        assert.deepEqual(c.changes.sort(), ['join a', 'join b']);
      });

      it('delivers a broadcast to the handlers of its channel on every other node, not to other channels or the sender', async () => {
        fresh();
        const [a, b, c] = await nodes('a', 'b', 'c');
        const got: string[] = [];
        for (const n of [a!, b!, c!]) {
          n.node.subscribe('news', (m, from) => got.push(`${n.node.serverName} news ${m.name} from ${from}`));
          n.node.subscribe('other', (m) => got.push(`${n.node.serverName} other ${m.name}`));
        }
        a!.node.send('news', event('x'));
        await until(() => got.length === 2, 'b and c got it');
        await pause(50);
        assert.deepEqual(got.sort(), ['b news x from a', 'c news x from a']);
      });

      it('stops delivering to a handler that unsubscribed', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        const got: string[] = [];
        const unsubscribe = b!.node.subscribe('news', (m) => got.push(m.name ?? ''));
        b!.node.subscribe('marker', (m) => got.push(m.name ?? ''));
        a!.node.send('news', event('one'));
        await until(() => got.length === 1, 'the first arrived');
        unsubscribe();
        a!.node.send('news', event('two'));
        a!.node.send('marker', event('marker'));
        await until(() => got.includes('marker'), 'the marker arrived');
        assert.deepEqual(got, ['one', 'marker']);
      });

      it('sends directly to one node only', async () => {
        fresh();
        const [a, b, c] = await nodes('a', 'b', 'c');
        const got: string[] = [];
        for (const n of [b!, c!]) n.node.subscribe('rpc', (m, from) => got.push(`${n.node.serverName} ${m.name} from ${from}`));
        a!.node.sendDirect('c', 'rpc', event('only c'));
        a!.node.send('rpc', event('marker'));
        await until(() => got.length === 3, 'the marker reached b and c');
        assert.deepEqual(got.sort(), ['b marker from a', 'c marker from a', 'c only c from a']);
      });

      it("delivers one sender's messages in the order sent, across turns and direct sends", async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        const got: string[] = [];
        b!.node.subscribe('ordered', (m) => got.push(m.name ?? ''));
        const sent: string[] = [];
        for (let turn = 0; turn < 5; turn++) {
          for (let i = 0; i < 40; i++) {
            const name = `${turn}.${i}`;
            sent.push(name);
            if (i === 20) a!.node.sendDirect('b', 'ordered', event(name));
            else a!.node.send('ordered', event(name));
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        await until(() => got.length === sent.length, 'everything arrived');
        assert.deepEqual(got, sent);
      });

      it('sends the broadcasts of one turn as one publish, and a large turn in several', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        const got: string[] = [];
        b!.node.subscribe('batched', (m) => got.push(m.name ?? ''));
        let before = a!.cable.publishes;
        for (let i = 0; i < 100; i++) a!.node.send('batched', event(`small ${i}`));
        await until(() => got.length === 100, 'the small ones arrived');
        assert.equal(a!.cable.publishes - before, 1, 'a hundred messages, one publish');

        got.length = 0;
        before = a!.cable.publishes;
        const big = 'x'.repeat(20_000);
        for (let i = 0; i < 40; i++) a!.node.send('batched', event(`big ${i}`, big)); // 800 kB in one turn
        await until(() => got.length === 40, 'the big ones arrived');
        const publishes = a!.cable.publishes - before;
        assert.ok(publishes >= 2 && publishes <= 10, `a large turn leaves in a few publishes, not one per message (${publishes})`);
        assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `big ${i}`));
      });

      it('tells the others when a node leaves', async () => {
        fresh();
        const [a, b, c] = await nodes('a', 'b', 'c');
        await b!.node.close();
        await until(() => a!.node.peers.size === 1 && c!.node.peers.size === 1, 'a and c saw b leave');
        assert.deepEqual(a!.changes, ['join b', 'join c', 'leave b']);
        assert.deepEqual([...c!.node.peers], ['a']);
      });

      it('drops a node that goes silent, after the node timeout', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        b!.cable.cut = true;
        const silentSince = Date.now();
        await until(() => a!.node.peers.size === 0, 'a dropped b', 3000);
        const after = Date.now() - silentSince;
        assert.ok(after >= TIMING.nodeTimeout - TIMING.keepAliveInterval, `not before the timeout (${after} ms)`);
        assert.ok(after < TIMING.nodeTimeout * 3, `soon after it (${after} ms)`);
        assert.deepEqual(a!.changes, ['join b', 'leave b']);
        assert.ok(a!.warnings.includes('cluster node gone'));
      });

      it('sees a node restarted under the same name as a new member', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        // b crashes: no goodbye, its connection is gone; it is back before the timeout.
        b!.cable.cut = true;
        await b!.cable.inner.close();
        const again = await node('b');
        await until(() => a!.changes.length === 3 && again.node.peers.has('a'), 'a saw the new b');
        assert.deepEqual(a!.changes, ['join b', 'leave b', 'join b']);
      });

      it('ignores garbage frames, logs them, and goes on delivering', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        const got: string[] = [];
        b!.node.subscribe('news', (m) => got.push(m.name ?? ''));
        const junk = await raw('junk');
        const garbage = [
          [],
          [0],
          [9, 1, 0x6a, 0], // an unknown kind
          [1, 50, 0x6a], // a sender name longer than the frame
          [0, 1, 0x6a, 200, 0x6e], // a channel longer than the frame
          [3, 1, 0x6a, 0, 0, 0, 200, 1, 2], // a batch whose frame claims 200 bytes
          [0, 1, 0x61, 4, ...Buffer.from('news'), 0xff, 0xff, 0xff], // "from a", on a channel b listens to, undecodable
        ];
        for (const frame of garbage) junk.transport.publish(Uint8Array.from(frame));
        junk.transport.publishTo('b', Uint8Array.from([0, 1]));
        const dropped = garbage.length + 1;
        await until(() => b!.warnings.length === dropped, `b logged ${dropped} dropped frames`);
        assert.deepEqual([...b!.node.peers], ['a'], 'garbage makes no peer');
        a!.node.send('news', event('fine'));
        await until(() => got.length === 1, 'a real message arrived');
        assert.deepEqual(got, ['fine']);
        assert.deepEqual(b!.changes, ['join a']);
      });

      it('after close sends nothing and hears nothing, and closing twice or unstarted is harmless', async () => {
        fresh();
        const [a, b] = await nodes('a', 'b');
        const got: string[] = [];
        a!.node.subscribe('news', (m) => got.push(m.name ?? ''));
        await a!.node.close();
        await until(() => b!.node.peers.size === 0, 'b saw a leave');
        const publishes = a!.cable.publishes;
        a!.node.send('news', event('into the void'));
        a!.node.sendDirect('b', 'news', event('into the void'));
        b!.node.send('news', event('nobody listens'));
        await pause(100);
        assert.equal(a!.cable.publishes, publishes, 'a closed node publishes nothing');
        assert.deepEqual(got, []);
        assert.equal(a!.node.peers.size, 0);
        await a!.node.close();
        await new ClusterNode('never-started', pino({ level: 'silent' })).close();
      });
    });

    keyedDeliveryContract(() => (fresh(), raw));
  });
}

type RawTransport = ReturnType<typeof recorder> & { transport: ClusterTransport };

/**
 * Interest-based traffic on the raw transport (subscribeKeys / unsubscribeKeys / publishKey),
 * skipped for a transport without it. Nothing here relies on order across keys or between keyed
 * and broadcast frames: on a Redis Cluster each key's channel may live on another shard. Where a
 * frame must NOT arrive, the test first awaits a frame that must, then gives stragglers a moment.
 */
function keyedDeliveryContract(freshRaw: () => (serverName: string) => Promise<RawTransport>): void {
  describe('keyed delivery', () => {
    /** A fresh medium, or undefined (and the test skipped) when its transports have no keyed sends. */
    const keyed = async (t: { skip(reason: string): void }) => {
      const raw = freshRaw();
      const probe = await raw('probe');
      if (probe.transport.subscribeKeys === undefined || probe.transport.unsubscribeKeys === undefined || probe.transport.publishKey === undefined) {
        t.skip('this transport has no keyed subscriptions');
        return undefined;
      }
      return raw;
    };
    const sub = (r: RawTransport, keys: string[]) => r.transport.subscribeKeys!(keys);
    const unsub = (r: RawTransport, keys: string[]) => r.transport.unsubscribeKeys!(keys);
    const pub = (r: RawTransport, key: string, text: string | Uint8Array) => r.transport.publishKey!(key, typeof text === 'string' ? Buffer.from(text) : text);

    it('delivers a keyed frame to the transports subscribed to the key only', async (t) => {
      const raw = await keyed(t);
      if (!raw) return;
      const [a, b, c, d] = [await raw('a'), await raw('b'), await raw('c'), await raw('d')];
      await Promise.all([sub(b, ['news']), sub(c, ['news', 'other']), sub(d, ['other'])]);
      pub(a, 'news', 'hello');
      await until(() => b.got.length === 1 && c.got.length === 1, 'b and c received');
      await pause(50);
      assert.deepEqual(b.text(), ['hello']);
      assert.deepEqual(c.text(), ['hello']);
      assert.deepEqual(d.got, [], 'subscribed to another key');
      assert.deepEqual(a.got, [], 'not subscribed, though the sender');
    });

    it('delivers nothing to a transport once its unsubscribe resolved, and goes on for the others', async (t) => {
      const raw = await keyed(t);
      if (!raw) return;
      const [a, b, c] = [await raw('a'), await raw('b'), await raw('c')];
      await Promise.all([sub(b, ['news', 'kept']), sub(c, ['news'])]);
      pub(a, 'news', 'one');
      await until(() => b.got.length === 1 && c.got.length === 1, 'the first reached b and c');
      await unsub(b, ['news']);
      pub(a, 'news', 'two');
      pub(a, 'kept', 'still subscribed');
      await until(() => c.got.length === 2 && b.got.length === 2, 'c got the second, b the other key');
      await pause(50);
      assert.deepEqual(b.text(), ['one', 'still subscribed']);
      assert.deepEqual(c.text(), ['one', 'two']);
      await unsub(b, ['never subscribed']); // harmless
    });

    it('never loses a frame published from another transport right after the subscribe resolved (repeated)', async (t) => {
      const raw = await keyed(t);
      if (!raw) return;
      const [a, b] = [await raw('a'), await raw('b')];
      for (let i = 0; i < 100; i++) {
        const key = `race ${i}`;
        await sub(b, [key]);
        pub(a, key, key); // in the same turn as the resolution: the subscription acknowledgement's case
        await until(() => b.got.length === i + 1, `${key} arrived`, 2000);
      }
      assert.deepEqual(b.text(), Array.from({ length: 100 }, (_, i) => `race ${i}`));
    });

    it('subscribes and unsubscribes a big batch of keys in one call', async (t) => {
      const raw = await keyed(t);
      if (!raw) return;
      const [a, b] = [await raw('a'), await raw('b')];
      const keys = Array.from({ length: 5000 }, (_, i) => `record/${i}`);
      await sub(b, keys);
      for (const key of keys) pub(a, key, key);
      await until(() => b.got.length === keys.length, 'every key arrived', 10_000);
      assert.deepEqual(b.text().sort(), [...keys].sort());

      b.got.length = 0;
      await unsub(b, keys.slice(0, 2500));
      for (const key of keys) pub(a, key, key);
      await until(() => b.got.length === 2500, 'the still-subscribed half arrived', 10_000);
      await pause(50);
      assert.deepEqual(b.text().sort(), keys.slice(2500).sort());
    });

    it("keeps one sender's frames on one key in order, and the bytes and odd key names intact", async (t) => {
      const raw = await keyed(t);
      if (!raw) return;
      const [a, b] = [await raw('a'), await raw('b')];
      const key = 'news/ünïcode key:{tag} *?[x]';
      await sub(b, [key]);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      pub(a, key, every);
      const sent = Array.from({ length: 300 }, (_, i) => `frame ${i}`);
      for (const frame of sent) pub(a, key, frame);
      await until(() => b.got.length === sent.length + 1, 'b received all');
      assert.deepEqual(b.got[0], every);
      assert.deepEqual(b.text().slice(1), sent);
    });
  });
}
