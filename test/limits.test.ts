/**
 * Hardening, items 5, 6, 7 and 9 of the abuse report: each attack is replayed against a real
 * server with the official client (or raw frames the client never sends), and each test checks
 * what a user notices: the attacker gets an error naming the limit, the server stays up, nothing
 * of the refused request is stored, and a second, healthy client's round trip stays under
 * `MAX_ROUND_TRIP_MS` while the attack runs.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, isDeepstreamError, resolveConfig, type Message, type PluginEntry } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import listening from '@deepstream-ts/plugin-listening';
import valve from '@deepstream-ts/plugin-permissions-valve';

const MAX_ROUND_TRIP_MS = 500;
const MAX_NAMES_PER_MESSAGE = 1000;
const MAX_SUBSCRIPTIONS = 500;
const MAX_PATTERNS = 20;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Client = DeepstreamClient & { errors: Array<{ event: string; topic: string; data: unknown }> };

describe('limits against abusive clients', { timeout: 60_000 }, () => {
  let server: TestServer;
  let healthy: Client;
  const open: Array<{ close(): void }> = [];

  async function client(username: string): Promise<Client> {
    const c = Object.assign(new DeepstreamClient(server.url, { subscriptionInterval: 10 } as never), { errors: [] as Client['errors'] });
    c.on('error', (error: unknown, event: string, topic: string) => {
      const data = (error as { parsedData?: unknown } | undefined)?.parsedData;
      c.errors.push({ event, topic, data });
    });
    open.push(c);
    await c.login({ username });
    return c;
  }

  async function raw(username: string): Promise<RawClient> {
    const c = await RawClient.login(server.url, { username });
    open.push(c);
    return c;
  }

  async function roundTrip(): Promise<number> {
    const start = performance.now();
    assert.equal(await healthy.rpc.make('ping', null), 'pong');
    return performance.now() - start;
  }

  /** Runs `attack` while the healthy client pings; returns the slowest round trip seen. */
  async function slowestRoundTripDuring(attack: () => Promise<unknown>): Promise<number> {
    let running = true;
    let slowest = 0;
    const pinging = (async () => {
      do {
        slowest = Math.max(slowest, await roundTrip());
        await pause(5);
      } while (running);
    })();
    try {
      await attack();
    } finally {
      running = false;
    }
    await pinging;
    return slowest;
  }

  before(async () => {
    server = await startTestServer({
      logLevel: 'warn',
      connection: { maxNamesPerMessage: MAX_NAMES_PER_MESSAGE, maxSubscriptionsPerConnection: MAX_SUBSCRIPTIONS },
      plugins: [
        authOpen,
        events,
        records,
        rpc,
        presence,
        listening.with({ maxListenPatternsPerConnection: MAX_PATTERNS, responseTimeout: 300 }),
        valve.with({
          permissions: {
            record: {
              '*': { create: true, read: true, write: true, delete: true, listen: true, notify: true },
              'secret/$id': { create: true, read: 'user.id === "owner"', write: true, delete: true, listen: true, notify: true },
            },
            event: {
              '*': { publish: true, subscribe: true, listen: true },
              'chat/*/messages/*': { publish: true, subscribe: true, listen: true },
              'secret/$id': { publish: true, subscribe: 'user.id === "owner"', listen: true },
            },
            rpc: { '*': { provide: true, request: true } },
            presence: { '*': { allow: true } },
          },
        }),
      ],
    });
    healthy = await client('healthy');
    healthy.rpc.provide('ping', (_data, response) => response.send('pong'));
    await until(() => server.kernel.service('rpc')!.stats.providedNames === 1, 'the healthy client provides ping');
    await roundTrip();
  });
  afterEach(() => {
    for (const c of open.splice(1)) c.close(); // the healthy client stays
  });
  after(async () => {
    for (const c of open.splice(0)) c.close();
    await server.stop();
  });

  describe('listen patterns (item 5)', () => {
    it('refuses the catastrophic pattern with its reason, and a 44-character subscription stays fast', async () => {
      const attacker = await client('attacker');
      attacker.record.listen('.*.*.*.*.*.*.*.*!', () => undefined);
      await until(() => attacker.errors.length === 1, 'the listen is refused');
      const [refusal] = attacker.errors;
      assert.equal(refusal!.event, 'INVALID_LISTEN_REGEX');
      assert.match(String(refusal!.data), /could backtrack .* ways on a 1024-character name/);
      const victim = await client('victim');
      const slowest = await slowestRoundTripDuring(() => victim.record.getRecord('x'.repeat(44)).whenReady());
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
    });

    it('the worst accepted patterns, as many as one connection may hold, against a 1024-character name cost little', async () => {
      const attacker = await raw('attacker');
      const patterns = ['a+b+c', 'a.*b', '^a.*b.*c', '.*a', 'a{0,1000}b', '[a-z]+a', '[^/]+/[^/]+/[^/]+/[^/]+/x'];
      for (let i = 0; i < MAX_PATTERNS; i++) {
        const pattern = `${patterns[i % patterns.length]!}${'(?:)'.repeat(Math.floor(i / patterns.length))}`;
        attacker.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: pattern });
        const reply = await attacker.next();
        assert.equal(reply.isAck, true, `${pattern}: ${JSON.stringify(reply)}`);
      }
      const victim = await client('victim');
      const names = ['a'.repeat(1024), `a${'b'.repeat(1023)}`, 'a/'.repeat(512)];
      const start = performance.now();
      const slowest = await slowestRoundTripDuring(async () => {
        for (const name of names) victim.event.subscribe(name, () => undefined);
        await pause(100);
      });
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
      assert.ok(performance.now() - start < 2000);
    });

    it(`refuses listen pattern ${MAX_PATTERNS + 1} on one connection, naming maxListenPatternsPerConnection`, async () => {
      const attacker = await raw('attacker');
      const replies: Message[] = [];
      const slowest = await slowestRoundTripDuring(async () => {
        for (let i = 0; i < MAX_PATTERNS + 5; i++) attacker.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.LISTEN, name: `^feed-${i}/` });
        for (let i = 0; i < MAX_PATTERNS + 5; i++) replies.push(await attacker.next());
      });
      assert.equal(replies.filter((m) => m.isAck === true).length, MAX_PATTERNS);
      const refused = replies.filter((m) => m.action === RECORD_ACTION.INVALID_LISTEN_REGEX);
      assert.equal(refused.length, 5);
      assert.equal(JSON.parse(refused[0]!.data!), `maxListenPatternsPerConnection (${MAX_PATTERNS}) reached`);
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
    });
  });

  describe('name lengths (item 6)', () => {
    it('an emit with a 200 KB name against the rule chat/*/messages/* is refused at once, naming maxNameLength', async () => {
      const attacker = await raw('attacker');
      const name = `chat/${'x'.repeat(200_000)}/messages`;
      const slowest = await slowestRoundTripDuring(async () => {
        for (let i = 0; i < 20; i++) attacker.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: '1' });
        for (let i = 0; i < 20; i++) {
          const reply = await attacker.next();
          assert.equal(reply.action, EVENT_ACTION.INVALID_MESSAGE_DATA);
          assert.equal(JSON.parse(reply.data!), `maxNameLength (1024) exceeded: an event name of ${name.length} characters`);
          assert.ok(reply.name!.length <= 100, 'the name is not echoed whole');
        }
      });
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
    });

    it('subscriptions to 900 KB event names are refused and nothing is stored', async () => {
      const attacker = await raw('attacker');
      const long = 'y'.repeat(900_000);
      attacker.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [long, 'fine'], correlationId: 'c1' });
      const refusal = await attacker.next();
      assert.equal(refusal.action, EVENT_ACTION.INVALID_MESSAGE_DATA);
      assert.match(JSON.parse(refusal.data!), /^maxNameLength \(1024\) exceeded/);
      assert.equal((await attacker.next()).isAck, true);
      const stored = [...server.kernel.service('events')!.subscriptions.names()];
      assert.ok(stored.includes('fine'));
      assert.ok(stored.every((n) => n.length <= 1024));
    });

    it('an RPC with a too long name rejects make() with the limit; a too long provide is refused', async () => {
      const attacker = await client('attacker');
      await assert.rejects(attacker.rpc.make('r'.repeat(2000), null), (error: unknown) => {
        assert.equal(error, 'maxNameLength (1024) exceeded: an RPC name of 2000 characters');
        return true;
      });
      const provider = await raw('provider');
      provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: ['p'.repeat(5000)], correlationId: 'p1' });
      const refusal = await provider.next();
      assert.equal(refusal.action, RPC_ACTION.INVALID_MESSAGE_DATA);
      assert.match(JSON.parse(refusal.data!), /^maxNameLength \(1024\) exceeded: an RPC name of 5000 characters/);
      assert.equal(server.kernel.service('rpc')!.stats.providedNames, 1, 'only the healthy ping');
      assert.ok((await roundTrip()) < MAX_ROUND_TRIP_MS);
    });
  });

  describe('per-connection and per-request bounds (item 7)', () => {
    it(`a bulk message with more than maxNamesPerMessage names is refused before routing`, async () => {
      const attacker = await raw('attacker');
      const names = Array.from({ length: MAX_NAMES_PER_MESSAGE + 1 }, (_, i) => `bulk/${i}`);
      const slowest = await slowestRoundTripDuring(async () => {
        for (let i = 0; i < 20; i++) attacker.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBEANDHEAD, names, correlationId: `b${i}` });
        for (let i = 0; i < 20; i++) {
          const reply = await attacker.next();
          assert.deepEqual([reply.action, reply.originalAction, reply.correlationId], [RECORD_ACTION.INVALID_MESSAGE_DATA, RECORD_ACTION.SUBSCRIBEANDHEAD, `b${i}`]);
          assert.equal(JSON.parse(reply.data!), `maxNamesPerMessage (${MAX_NAMES_PER_MESSAGE}) exceeded: the message has ${names.length} names`);
        }
      });
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
      assert.ok(await attacker.nothingWithin(100), 'no HEAD reply: the message was not routed');
      assert.equal(server.kernel.service('records')!.subscriptions.subscribers('bulk/0').size, 0);
    });

    it('an official client subscribing to many records at start is not bothered', async () => {
      const app = await client('app');
      const recordsAtStart = Array.from({ length: 300 }, (_, i) => app.record.getRecord(`app/${i}`));
      await Promise.all(recordsAtStart.map((r) => r.whenReady()));
      assert.deepEqual(app.errors, []);
    });

    it(`subscription ${MAX_SUBSCRIPTIONS + 1} of one connection is denied, naming maxSubscriptionsPerConnection`, async () => {
      const attacker = await raw('attacker');
      const denied: Message[] = [];
      const slowest = await slowestRoundTripDuring(async () => {
        for (let batch = 0; batch < 3; batch++) {
          const names = Array.from({ length: 200 }, (_, i) => `many/${batch * 200 + i}`);
          attacker.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names, correlationId: `s${batch}` });
          for (;;) {
            const reply = await attacker.next();
            if (reply.isAck === true) break;
            denied.push(reply);
          }
        }
      });
      assert.equal(denied.length, 3 * 200 - MAX_SUBSCRIPTIONS);
      assert.equal(denied[0]!.action, EVENT_ACTION.MESSAGE_DENIED);
      assert.equal(denied[0]!.name, `many/${MAX_SUBSCRIPTIONS}`);
      assert.equal(JSON.parse(denied[0]!.data!), `maxSubscriptionsPerConnection (${MAX_SUBSCRIPTIONS}) reached`);
      const registry = server.kernel.service('events')!.subscriptions;
      assert.equal(registry.subscribers(`many/${MAX_SUBSCRIPTIONS - 1}`).size, 1);
      assert.equal(registry.subscribers(`many/${MAX_SUBSCRIPTIONS}`).size, 0);
      assert.ok(slowest < MAX_ROUND_TRIP_MS, `healthy round trip took ${slowest.toFixed(0)} ms`);
    });

    it('the official client hears of a record subscription over the cap as MESSAGE_DENIED with the limit', async () => {
      const attacker = await raw('attacker');
      const names = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => `full/${i}`);
      attacker.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBE, names, correlationId: 'f' });
      assert.equal((await attacker.next((m) => m.isAck === true)).correlationId, 'f');
      attacker.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBE, names: ['full/one-more'], correlationId: 'g' });
      const denial = await attacker.next((m) => m.action === RECORD_ACTION.MESSAGE_DENIED);
      assert.deepEqual([denial.name, JSON.parse(denial.data!)], ['full/one-more', `maxSubscriptionsPerConnection (${MAX_SUBSCRIPTIONS}) reached`]);
    });
  });

  describe('listeners are told only names they may read (item 9)', () => {
    it('a listener without read permission is skipped as if its pattern did not match', async () => {
      const [spy, trusted, owner] = await Promise.all([client('spy'), client('owner'), client('owner')]);
      const offered = { spy: [] as string[], trusted: [] as string[] };
      for (const [who, c] of [['spy', spy], ['trusted', trusted]] as const) {
        c.record.listen('^(secret|public)/', (name, response) => {
          offered[who].push(name);
          response.reject();
        });
      }
      await pause(100);
      const secret = owner.record.getRecord('secret/1');
      const open = owner.record.getRecord('public/1');
      await Promise.all([secret.whenReady(), open.whenReady()]);
      await until(() => offered.trusted.length === 2 && offered.spy.length === 1, 'the offers went round');
      await pause(100);
      assert.deepEqual(offered.trusted.sort(), ['public/1', 'secret/1']);
      assert.deepEqual(offered.spy, ['public/1'], 'the spy may not read secret/1, so it is never told of it');
    });

    it('for events too: a listener that may not subscribe is never offered the name', async () => {
      const [spy, trusted, owner] = await Promise.all([client('spy'), client('owner'), client('owner')]);
      const offered = { spy: [] as string[], trusted: [] as string[] };
      for (const [who, c] of [['spy', spy], ['trusted', trusted]] as const) {
        c.event.listen('^secret/', (name, response) => {
          offered[who].push(name);
          response.accept();
        });
      }
      await pause(100);
      owner.event.subscribe('secret/room', () => undefined);
      await until(() => offered.trusted.length === 1, 'the trusted listener is offered the name');
      await pause(100);
      assert.deepEqual(offered.spy, []);
    });
  });
});

describe('limit options are validated like their neighbours', () => {
  it('a non-positive connection limit stops the config naming it', () => {
    for (const key of ['maxNamesPerMessage', 'maxSubscriptionsPerConnection']) {
      assert.throws(() => resolveConfig({ connection: { [key]: 0 } }), (error: unknown) => isDeepstreamError(error) && error.code === 'DS_CONFIG_INVALID' && error.message.includes(`connection.${key}`));
    }
  });

  it('a bad plugin limit fails the start naming the option', async () => {
    const bad: Array<[PluginEntry, string]> = [
      [events.with({ maxNameLength: 0 }), 'maxNameLength'],
      [rpc.with({ maxNameLength: 1.5 }), 'maxNameLength'],
      [listening.with({ maxListenPatternsPerConnection: -1 }), 'maxListenPatternsPerConnection'],
    ];
    for (const [plugin, named] of bad) {
      await assert.rejects(startTestServer({ logLevel: 'silent', plugins: [authOpen, plugin] }), (error: unknown) => isDeepstreamError(error) && error.code === 'DS_PLUGIN_OPTIONS_INVALID' && error.message.includes(`option "${named}"`));
    }
  });
});

