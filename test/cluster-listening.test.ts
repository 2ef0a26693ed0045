/**
 * Listening across three nodes clustered over a real Redis (issue #18), with the official client:
 * a listener that rejects hands the name to listeners on other nodes, a provider that stops or
 * disconnects is replaced by a listener elsewhere, and a LISTEN once acknowledged is matched against
 * subscriptions on every node. Listening options are the defaults, as a user would run them.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, TOPIC } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import listening, { type ListeningOptions } from '@deepstream-ts/plugin-listening';
import cacheRedis from '@deepstream-ts/cache-redis';
import clusterRedis from '@deepstream-ts/cluster-redis';
import { isSkip, startRedis, type RedisServer } from './services/real-servers.ts';

const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a listener on another node may take to be asked once the provider is gone. */
const TAKEOVER_BOUND = 1000;

let counter = 0;
const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;

type Topic = 'event' | 'record';
interface Offer {
  who: string;
  name: string;
  at: number;
}

/**
 * Listeners that log every offer (who, name, when) into one shared list and decide with one
 * shared rule, so a test can say "the first one asked rejects" whichever node that lands on. An
 * accepting provider does what a real one does: an event provider emits its name until told to
 * stop, a record provider writes who it is into the record.
 */
class Providers {
  readonly offers: Offer[] = [];
  readonly stopped: Offer[] = [];
  constructor(private readonly decide: (offer: Offer, earlier: Offer[]) => boolean) {}

  listen(client: DeepstreamClient, who: string, topic: Topic, pattern: string): void {
    client[topic].listen(pattern, (name, response) => {
      const offer = { who, name, at: Date.now() };
      const earlier = this.offers.filter((o) => o.name === name);
      this.offers.push(offer);
      if (!this.decide(offer, earlier)) return response.reject();
      response.accept();
      if (topic === 'record') {
        client.record.setData(name, { by: who });
        response.onStop(() => this.stopped.push({ who, name, at: Date.now() }));
        return;
      }
      const timer = setInterval(() => client.event.emit(name, who), 40);
      response.onStop(() => {
        clearInterval(timer);
        this.stopped.push({ who, name, at: Date.now() });
      });
      this.timers.push(timer);
    });
  }

  /** Nothing more happens for a while: no listener is asked again, none told to stop. */
  async quiet(ms = 300): Promise<void> {
    const [offers, stopped] = [this.offers.length, this.stopped.length];
    await pause(ms);
    assert.deepEqual(this.offers.slice(offers), [], 'no further offers');
    assert.deepEqual(this.stopped.slice(stopped), [], 'no provider told to stop');
  }

  /** Who was offered `name`, in order. */
  asked(name: string): string[] {
    return this.offers.filter((o) => o.name === name).map((o) => o.who);
  }

  private readonly timers: NodeJS.Timeout[] = [];
  close(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }
}

/** The first listener asked for a name rejects, every later one accepts. */
const firstRejects = (_offer: Offer, earlier: Offer[]) => earlier.length >= 1;
/** The first two asked reject, the third accepts. */
const firstTwoReject = (_offer: Offer, earlier: Offer[]) => earlier.length >= 2;

after(async () => {
  if (!isSkip(redisServer)) await redisServer.stop();
});

/**
 * Each case runs twice: with the default options, and with `clusterTurn: 0`, where every node
 * that could search a name starts at once, so that claims always cross: the outcome must not
 * depend on nodes taking their turns in time.
 */
const VARIANTS: Array<{ title: string; options: Partial<ListeningOptions>; turns: boolean }> = [
  { title: 'default options', options: {}, turns: true },
  { title: 'clusterTurn 0: every node searches at once', options: { clusterTurn: 0 }, turns: false },
];

for (const variant of VARIANTS) describe(`listening across three nodes over Redis (${variant.title})`, { skip, timeout: 120_000 }, () => {
  const redis = redisServer as RedisServer;
  const nodes: TestServer[] = [];
  const clients: DeepstreamClient[] = [];
  const raws: RawClient[] = [];
  const providers: Providers[] = [];
  const [a, b, c] = [() => nodes[0]!, () => nodes[1]!, () => nodes[2]!];

  async function client(node: TestServer): Promise<DeepstreamClient> {
    const dc = new DeepstreamClient(node.url);
    clients.push(dc);
    await dc.login();
    return dc;
  }
  function newProviders(decide: (offer: Offer, earlier: Offer[]) => boolean): Providers {
    const p = new Providers(decide);
    providers.push(p);
    return p;
  }
  /** Subscribes on `client` and resolves with the first event data (the provider's name). */
  function firstEvent(subscriber: DeepstreamClient, name: string): Promise<unknown> {
    return new Promise((resolve) => subscriber.event.subscribe(name, resolve));
  }

  before(async () => {
    const prefix = `listen-${Date.now()}-${counter++}:`;
    for (const serverName of ['a', 'b', 'c']) {
      nodes.push(
        await startTestServer({
          serverName,
          plugins: [
            authOpen,
            events,
            cacheRedis.with({ url: redis.url, keyPrefix: prefix }),
            records,
            listening.with(variant.options),
            clusterRedis.with({ url: redis.url, channelPrefix: prefix, keepAliveInterval: 200, nodeTimeout: 1000 }),
          ],
        }),
      );
    }
    await until(() => nodes.every((n) => n.kernel.service('cluster')!.peers.size === 2), 'every node knows the two others');
  });
  afterEach(async () => {
    for (const p of providers.splice(0)) p.close();
    for (const dc of clients.splice(0)) dc.close();
    for (const raw of raws.splice(0)) raw.close();
    await pause(100);
  });
  after(async () => {
    for (const node of nodes) await node.stop();
  });

  // Several names per case: with shuffleProviders (the default) the order of nodes is hashed per name.
  const NAMES = 4;

  describe('(a) the first listener asked rejects: the one on another node is asked and provides', () => {
    it('events, listeners before the subscriber', async () => {
      const p = newProviders(firstRejects);
      const [onB, onC, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
      p.listen(onB, 'b', 'event', '^ra-ev/');
      p.listen(onC, 'c', 'event', '^ra-ev/');
      await pause(200); // the client batches nothing here, but the LISTENs must have arrived
      const names = Array.from({ length: NAMES }, () => unique('ra-ev'));
      const got = await Promise.all(names.map((name) => firstEvent(subscriber, name)));
      for (const [i, name] of names.entries()) {
        assert.deepEqual([...p.asked(name)].sort(), ['b', 'c'], `${name}: both asked once`);
        assert.equal(got[i], p.asked(name)[1], 'the subscriber gets what the second listener emits');
      }
      await p.quiet();
    });

    it('events, subscriber before the listeners (who listen at the same moment)', async () => {
      const p = newProviders(firstRejects);
      const [onB, onC, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
      const names = Array.from({ length: NAMES }, () => unique('rb-ev'));
      const got = Promise.all(names.map((name) => firstEvent(subscriber, name)));
      await pause(300); // the client sends subscriptions in a 100 ms batch
      p.listen(onB, 'b', 'event', '^rb-ev/');
      p.listen(onC, 'c', 'event', '^rb-ev/');
      const data = await got;
      for (const [i, name] of names.entries()) {
        assert.deepEqual([...p.asked(name)].sort(), ['b', 'c'], `${name}: both asked once`);
        assert.equal(data[i], p.asked(name)[1], 'the subscriber gets what the second listener emits');
      }
      await p.quiet();
    });

    it('records, listeners before the subscriber: hasProvider, and the provider\'s data', async () => {
      const p = newProviders(firstRejects);
      const [onB, onC, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
      p.listen(onB, 'b', 'record', '^ra-rec/');
      p.listen(onC, 'c', 'record', '^ra-rec/');
      await pause(200);
      const names = Array.from({ length: NAMES }, () => unique('ra-rec'));
      const recs = names.map((name) => subscriber.record.getRecord(name));
      await Promise.all(recs.map((r) => r.whenReady()));
      for (const [i, name] of names.entries()) {
        const r = recs[i]!;
        await until(() => r.hasProvider && (r.get() as { by?: string }).by !== undefined, `${name} is provided (asked: ${p.asked(name)})`);
        assert.deepEqual([...p.asked(name)].sort(), ['b', 'c']);
        assert.equal((r.get() as { by: string }).by, p.asked(name)[1]);
      }
      await p.quiet();
    });

    it('records, subscriber before the listeners', async () => {
      const p = newProviders(firstRejects);
      const [onB, onC, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
      const names = Array.from({ length: NAMES }, () => unique('rb-rec'));
      const recs = names.map((name) => subscriber.record.getRecord(name));
      await Promise.all(recs.map((r) => r.whenReady()));
      p.listen(onB, 'b', 'record', '^rb-rec/');
      p.listen(onC, 'c', 'record', '^rb-rec/');
      for (const [i, name] of names.entries()) {
        const r = recs[i]!;
        await until(() => r.hasProvider && (r.get() as { by?: string }).by !== undefined, `${name} is provided (asked: ${p.asked(name)})`);
        assert.deepEqual([...p.asked(name)].sort(), ['b', 'c'], `${name}: both asked once`);
        assert.equal((r.get() as { by: string }).by, p.asked(name)[1]);
      }
      await p.quiet();
    });
  });

  describe('(b) the provider stops: a listener on another node takes over within the bound', () => {
    for (const topic of ['event', 'record'] as const) {
      for (const how of ['unlistens', 'disconnects'] as const) {
        it(`${topic}s, the provider ${how}`, async () => {
          // Whoever is asked first provides; the other is asked only once it is gone.
          const p = newProviders(() => true);
          const [onB, onC, subscriber] = await Promise.all([client(b()), client(c()), client(a())]);
          const pattern = `^take-${topic}-${how}/`;
          const prefix = pattern.slice(1, -1);
          p.listen(onB, 'b', topic, pattern);
          p.listen(onC, 'c', topic, pattern);
          await pause(200);
          const name = unique(prefix);
          const seen: unknown[] = [];
          const record = topic === 'record' ? subscriber.record.getRecord(name) : undefined;
          if (topic === 'event') subscriber.event.subscribe(name, (data) => seen.push(data));
          await until(() => p.offers.length === 1 && (record === undefined ? seen.length > 0 : record.hasProvider), 'a first provider');
          await pause(150); // still one provider: nobody else was asked
          assert.equal(p.offers.length, 1, String(p.asked(name)));
          const first = p.offers[0]!.who;
          const second = first === 'b' ? 'c' : 'b';
          const stopping = first === 'b' ? onB : onC;
          const stoppedAt = Date.now();
          if (how === 'unlistens') stopping[topic].unlisten(pattern);
          else stopping.close();
          await until(() => p.offers.length === 2, `the listener on ${second} is asked`, TAKEOVER_BOUND);
          const took = p.offers[1]!.at - stoppedAt;
          console.log(`# takeover (${topic}, provider ${how}): ${took} ms`);
          assert.equal(p.offers[1]!.who, second);
          if (record !== undefined) {
            await until(() => record.hasProvider && (record.get() as { by?: string }).by === second, 'the record is provided by the second listener');
          } else {
            const before = seen.length;
            await until(() => seen.length > before && seen.at(-1) === second, 'events come from the second listener');
          }
          await p.quiet();
        });
      }
    }

    it('a provider on the subscriber\'s own node that unlistens is replaced by one on another node', async () => {
      const p = newProviders(() => true);
      const [onA, subscriber] = await Promise.all([client(a()), client(a())]);
      p.listen(onA, 'a', 'record', '^take-local/');
      await pause(200);
      const name = unique('take-local');
      const record = subscriber.record.getRecord(name);
      await until(() => record.hasProvider, 'provided by a');
      const onC = await client(c());
      p.listen(onC, 'c', 'record', '^take-local/');
      await pause(200);
      onA.record.unlisten('^take-local/');
      await until(() => p.asked(name).length === 2, 'c is asked', TAKEOVER_BOUND);
      await until(() => record.hasProvider && (record.get() as { by?: string }).by === 'c', 'provided by c');
      assert.deepEqual(p.asked(name), ['a', 'c']);
      await p.quiet();
    });

    for (const topic of ['event', 'record'] as const) {
      it(`${topic}s: a listener that rejected is asked again when the provider stops`, async () => {
        // As on one node: losing the provider starts a new round, in which every listener is asked.
        const p = newProviders(firstRejects);
        const [onC, onB, subscriber] = await Promise.all([client(c()), client(b()), client(c())]);
        const pattern = `^again-${topic}/`;
        p.listen(onC, 'c', topic, pattern);
        p.listen(onB, 'b', topic, pattern);
        await pause(200);
        const name = unique(`again-${topic}`);
        const seen: unknown[] = [];
        const record = topic === 'record' ? subscriber.record.getRecord(name) : undefined;
        if (topic === 'event') subscriber.event.subscribe(name, (data) => seen.push(data));
        await until(() => p.asked(name).length === 2, 'both asked');
        if (variant.turns) assert.deepEqual(p.asked(name), ['c', 'b'], 'the subscriber\'s node first');
        const [refuser, provider] = p.asked(name) as [string, string];
        (provider === 'b' ? onB : onC)[topic].unlisten(pattern);
        await until(() => p.asked(name).length === 3, `${refuser} is asked again`, TAKEOVER_BOUND);
        assert.equal(p.asked(name)[2], refuser);
        if (record !== undefined) await until(() => record.hasProvider && (record.get() as { by?: string }).by === refuser, `provided by ${refuser}`);
        else await until(() => seen.at(-1) === refuser, `events come from ${refuser}`);
        await p.quiet();
      });
    }
  });

  describe('(c) three providers on three nodes, two reject: the third is reached', () => {
    for (const topic of ['event', 'record'] as const) {
      for (const order of ['listeners first', 'subscriber first'] as const) {
        it(`${topic}s, ${order}`, async () => {
          const p = newProviders(firstTwoReject);
          const [onA, onB, onC, subscriber] = await Promise.all([client(a()), client(b()), client(c()), client(a())]);
          const pattern = `^three-${topic}-${order === 'listeners first' ? 'l' : 's'}/`;
          const prefix = pattern.slice(1, -1);
          const names = Array.from({ length: NAMES }, () => unique(prefix));
          const listenAll = () => {
            p.listen(onA, 'a', topic, pattern);
            p.listen(onB, 'b', topic, pattern);
            p.listen(onC, 'c', topic, pattern);
          };
          if (order === 'listeners first') {
            listenAll();
            await pause(200);
          }
          const recs = topic === 'record' ? names.map((name) => subscriber.record.getRecord(name)) : [];
          const got = topic === 'event' ? Promise.all(names.map((name) => firstEvent(subscriber, name))) : undefined;
          if (order === 'subscriber first') {
            await pause(300);
            listenAll();
          }
          if (got !== undefined) {
            const data = await Promise.race([got, pause(5000).then(() => assert.fail(`no event: ${names.map((n) => p.asked(n).join('')).join(' ')}`))]);
            for (const [i, name] of names.entries()) {
              assert.deepEqual([...p.asked(name)].sort(), ['a', 'b', 'c'], name);
              assert.equal(data[i], p.asked(name)[2]);
            }
          }
          for (const [i, name] of names.entries()) {
            const r = recs[i];
            if (r === undefined) continue;
            await until(() => r.hasProvider && (r.get() as { by?: string }).by !== undefined, `${name} is provided (asked: ${p.asked(name)})`, 5000);
            assert.deepEqual([...p.asked(name)].sort(), ['a', 'b', 'c'], name);
            assert.equal((r.get() as { by: string }).by, p.asked(name)[2]);
          }
          await p.quiet();
        });
      }
    }
  });

  describe('read-your-writes', () => {
    it('a LISTEN acknowledged on one node is matched against subscriptions made afterwards on another; its barrier costs one bus round trip', async () => {
      // Raw clients: the official client hides the ack. For each round a new pattern is listened
      // to on b and, the moment its ack arrives, a subscriber on c subscribes; then an UNLISTEN
      // (acked without a barrier) of a pattern nobody subscribes to shows the ack's cost alone.
      const listener = await RawClient.login(b().url);
      const subscriber = await RawClient.login(c().url);
      raws.push(listener, subscriber);
      const acked = async (action: EVENT_ACTION, pattern: string) => {
        const sent = performance.now();
        listener.send({ topic: TOPIC.EVENT, action, name: pattern });
        await listener.next((m) => m.isAck === true && m.action === action && m.name === pattern);
        return performance.now() - sent;
      };
      const listens: number[] = [];
      const unlistens: number[] = [];
      const idleListens: number[] = [];
      for (let round = 0; round < 20; round++) {
        const pattern = `^ryw-${round}/`;
        const name = `ryw-${round}/x`;
        listens.push(await acked(EVENT_ACTION.LISTEN, pattern));
        subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId: String(round) });
        const found = await listener.next((m) => m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND, TAKEOVER_BOUND);
        assert.deepEqual([found.name, found.subscription], [pattern, name]);
        listener.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN_ACCEPT, name: pattern, subscription: name });
        idleListens.push(await acked(EVENT_ACTION.LISTEN, `^idle-${round}/`));
        unlistens.push(await acked(EVENT_ACTION.UNLISTEN, `^idle-${round}/`));
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!.toFixed(2);
      console.log(`# ack round trips, 3-node Redis cluster, median of 20: LISTEN ${median(listens)} ms, LISTEN matching nothing ${median(idleListens)} ms, UNLISTEN (no barrier) ${median(unlistens)} ms`);
    });

    it('a subscription acknowledged on one node is offered before the ack of a LISTEN made afterwards on another', async () => {
      const listener = await RawClient.login(b().url);
      const subscriber = await RawClient.login(a().url);
      raws.push(listener, subscriber);
      for (let round = 0; round < 10; round++) {
        const pattern = `^ryw-sub-${round}/`;
        const name = `ryw-sub-${round}/x`;
        subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId: String(round) });
        await subscriber.next((m) => m.isAck === true && m.correlationId === String(round));
        listener.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: pattern });
        const first = await listener.next((m) => m.name === pattern);
        assert.deepEqual([first.action, first.subscription, first.isAck], [EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND, name, undefined], 'the offer comes before the ack');
        listener.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN_ACCEPT, name: pattern, subscription: name });
      }
    });
  });
});
