/**
 * Listening with several official clients over real sockets, plus raw clients for the exact
 * replies to bad input.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import listening, { backtrackingRisk, type TopicListeners } from '@deepstream-ts/plugin-listening';
import { listen, pause, unique } from './helpers.ts';

const settle = () => pause(250); // the client batches subscriptions for 100 ms

/**
 * The server's nodes in server-name order: one on a single node, three when clustered
 * (DS_TEST_TOPOLOGY). `on(server, i)` is the URL of node i (of the only node alone), for tests
 * that need clients together on one node or apart: across nodes, listeners are asked node by node,
 * the subscriber's node first, then the others in server-name order (README, "Running a cluster").
 */
function nodesOf(server: TestServer): TestServer[] {
  const name = (node: TestServer) => node.kernel.service('cluster')!.serverName;
  return [...(server.nodes ?? [server])].sort((x, y) => (name(x) < name(y) ? -1 : 1));
}
const on = (server: TestServer, i: number) => {
  const nodes = nodesOf(server);
  return nodes[i % nodes.length]!.url;
};

describe('listening with the official client', () => {
  let server: TestServer;
  const clients: DeepstreamClient[] = [];
  /** A client through the balancer, or on node `node` (see `on`). */
  async function client(node?: number): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(node === undefined ? server.url : on(server, node));
    clients.push(c);
    await c.login();
    return c;
  }
  /** Listening state summed over every node (each node counts its own). */
  const registries = () => {
    const stats = { patterns: 0, providers: 0, searches: 0, sessions: 0 };
    for (const node of nodesOf(server)) {
      for (const topic of ['events', 'records'] as const) {
        const listeners = node.kernel.service(topic)?.listeners as TopicListeners | undefined;
        if (listeners) for (const key of Object.keys(stats) as Array<keyof typeof stats>) stats[key] += listeners.stats[key];
      }
    }
    return stats;
  };

  before(async () => {
    server = await startTestServer({
      plugins: [authOpen, events, records, listening.with({ shuffleProviders: false, responseTimeout: 200, rematchInterval: 1200, matchCooldown: 0 })],
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await pause(50);
  });
  after(() => server.stop());

  it('offers event subscriptions made before and after the listen, and stops the provider when the last subscriber leaves', async () => {
    const [p, s1, s2] = await Promise.all([client(), client(), client()]);
    const [before, afterwards] = [unique('prices'), unique('prices')];
    const onBefore = () => undefined;
    s1.event.subscribe(before, onBefore);
    await settle();
    const log = listen(p, 'event', '^prices/', () => true);
    await settle();
    s2.event.subscribe(afterwards, () => undefined);
    await settle();
    assert.deepEqual(log.sort(), [`found ${afterwards}`, `found ${before}`].sort());
    s1.event.unsubscribe(before, onBefore);
    await settle();
    assert.ok(log.includes(`stop ${before}`), log.join(', '));
    assert.ok(!log.includes(`stop ${afterwards}`));
  });

  it('has exactly one active provider per name; a rejecting listener is skipped for the next', async () => {
    // Clustered: the refuser on the subscriber's node (asked first), the accepter on the next node
    // by server name (asked next), the spare on the last. Alone: all on the one node, asked in
    // registration order. Either way the same order.
    const [refuser, accepter, spare, subscriber] = await Promise.all([client(0), client(1), client(2), client(0)]);
    const name = unique('stock');
    const refused = listen(refuser, 'record', '^stock/', () => false);
    await settle();
    const accepted = listen(accepter, 'record', '^stock/', () => true);
    await settle();
    const spared = listen(spare, 'record', 'stock', () => true);
    await settle();
    const record = subscriber.record.getRecord(name);
    await record.whenReady();
    await until(() => record.hasProvider, `the record is provided (${refused} | ${accepted} | ${spared})`);
    await settle(); // nobody else is asked meanwhile, the refuser not again
    assert.deepEqual(refused, [`found ${name}`]);
    assert.deepEqual(accepted, [`found ${name}`]);
    assert.deepEqual(spared, [], 'once a provider accepted, nobody else is offered the name');
    assert.equal(record.hasProvider, true);
  });

  it('hands a record over when the active provider disconnects, and tells subscribers in between', async () => {
    const [first, second, subscriber] = await Promise.all([client(), client(), client()]);
    const name = unique('feed');
    listen(first, 'record', '^feed/', () => true);
    await settle();
    const record = subscriber.record.getRecord(name);
    await record.whenReady();
    // The official client does not re-emit hasProviderChanged on the record it hands out, so a
    // raw subscriber watches the notices on the wire.
    // The provider may accept before the watcher subscribes (the notice comes with its
    // subscription) or after (the notice follows the read): it is told either way, and first.
    const watcher = await RawClient.login(server.url);
    watcher.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 'w' });
    const isNotice = (m: Message) => m.action === RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER || m.action === RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER;
    assert.equal((await watcher.next(isNotice)).action, RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER);
    await until(() => record.hasProvider, 'the subscriber is told of the provider');
    const secondLog = listen(second, 'record', '^feed/', () => true);
    await settle();
    assert.deepEqual(secondLog, [], 'the name already has a provider');
    first.close();
    await until(() => secondLog.length > 0, 'the second listener is offered the name');
    const notices = [await watcher.next(isNotice), await watcher.next(isNotice)];
    assert.deepEqual(notices.map((m) => m.action), [RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER, RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER]);
    assert.deepEqual(secondLog, [`found ${name}`]);
    await until(() => record.hasProvider, 'the subscriber is told of the new provider');
    watcher.close();
  });

  it('offers the name to the next listener when the active provider unlistens', async () => {
    const [first, second, subscriber] = await Promise.all([client(), client(), client()]);
    const name = unique('ticker');
    listen(first, 'event', '^ticker/', () => true);
    await settle();
    subscriber.event.subscribe(name, () => undefined);
    await settle();
    const secondLog = listen(second, 'event', '^ticker/', () => true);
    await settle();
    first.event.unlisten('^ticker/');
    await settle();
    assert.deepEqual(secondLog, [`found ${name}`]);
  });

  it('offers a rejected name again at the rematch interval', async () => {
    const [p, subscriber] = await Promise.all([client(), client()]);
    const name = unique('later');
    let calls = 0;
    const log = listen(p, 'event', '^later/', () => ++calls > 1);
    await settle();
    subscriber.event.subscribe(name, () => undefined);
    await until(() => log.length > 0, 'the first offer');
    // Not at once (the search that failed is not restarted by its own end) but at the next
    // rematch, within rematchInterval (1200 ms).
    await until(() => log.length > 1, 'the rematch offer', 1200 + 500);
    await settle();
    assert.deepEqual(log, [`found ${name}`, `found ${name}`]);
  });

  it('leaves no listener, provider or search behind once every client is gone', async () => {
    const [p, subscriber] = await Promise.all([client(), client()]);
    listen(p, 'record', '^gone/', () => true);
    await settle();
    const r = subscriber.record.getRecord(unique('gone'));
    await r.whenReady();
    await settle();
    const e = unique('gone-event');
    listen(p, 'event', '^gone-event/', () => true);
    subscriber.event.subscribe(e, () => undefined);
    await until(() => registries().providers >= 2, 'both names are provided');
    p.close();
    subscriber.close();
    // Each node lets go once it sees the sockets close (and, for searches elsewhere, one bus hop later).
    const empty = { patterns: 0, providers: 0, searches: 0, sessions: 0 };
    await until(() => JSON.stringify(registries()) === JSON.stringify(empty), `nothing is left (${JSON.stringify(registries())})`);
  });
});

describe('listening bad input (raw protocol)', () => {
  let server: TestServer;
  const clients: RawClient[] = [];
  async function login(node?: number): Promise<RawClient> {
    const c = await RawClient.login(node === undefined ? server.url : on(server, node));
    clients.push(c);
    return c;
  }
  const event = (fields: Partial<Message>): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, ...fields }) as Message;

  before(async () => {
    server = await startTestServer({ plugins: [authOpen, events, records, listening.with({ shuffleProviders: false, responseTimeout: 150 })] });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(() => server.stop());

  it('an invalid regular expression: INVALID_LISTEN_REGEX and no ack', async () => {
    const c = await login();
    c.send(event({ name: '([unclosed' }));
    assert.deepEqual((({ names, ...m }) => m)(await c.next()), {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.INVALID_LISTEN_REGEX,
      name: '([unclosed',
      data: JSON.stringify('Invalid regular expression: /([unclosed/: Unterminated character class'),
      isError: true,
    });
    assert.ok(await c.nothingWithin(100));
  });

  it('catastrophic and overlong patterns are refused the same way, and the server stays responsive', async () => {
    const c = await login();
    for (const pattern of ['(a+)+$', '(x|x)*y', '(.*a){20}', '(a)\\1', 'p'.repeat(300)]) {
      c.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.LISTEN, name: pattern });
      const reply = await c.next();
      assert.equal(reply.action, RECORD_ACTION.INVALID_LISTEN_REGEX, pattern.slice(0, 20));
    }
    for (const safe of ['^stock/.*', 'a+b+', '(ab)+', '^(users|groups)/[^/]+$', '[(+)]+']) assert.equal(backtrackingRisk(safe), undefined, safe);
  });

  it('the same pattern twice from one client: MULTIPLE_SUBSCRIPTIONS instead of a crash', async () => {
    const c = await login();
    c.send(event({ name: 'twice/.*' }));
    assert.equal((await c.next()).isAck, true);
    c.send(event({ name: 'twice/.*' }));
    const reply = await c.next();
    assert.deepEqual([reply.action, reply.name, reply.originalAction], [EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS, 'twice/.*', EVENT_ACTION.LISTEN]);
    await login(); // the server still takes logins
  });

  it('accept or reject for a name never offered is ignored; unlisten without listen gets no reply', async () => {
    const c = await login();
    c.send(event({ action: EVENT_ACTION.LISTEN_ACCEPT, name: 'nope/.*', subscription: 'nope/1' }));
    c.send(event({ action: EVENT_ACTION.LISTEN_REJECT, name: 'nope/.*', subscription: 'nope/1' }));
    c.send(event({ action: EVENT_ACTION.UNLISTEN, name: 'never/.*' }));
    assert.ok(await c.nothingWithin(150));
  });

  it('a listener that does not answer gets LISTEN_RESPONSE_TIMEOUT and the next one is asked', async () => {
    // Clustered, one client per node: the subscriber's node has no listener, the others are asked
    // in server-name order. Alone: registration order. Either way the silent listener first.
    const [silent, answering, subscriber] = [await login(0), await login(1), await login(2)];
    silent.send(event({ name: '^quiet/' }));
    await silent.next((m) => m.isAck === true);
    answering.send(event({ name: '^quiet/' }));
    await answering.next((m) => m.isAck === true);
    subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['quiet/1'], correlationId: '1' });
    const found = await silent.next();
    assert.deepEqual([found.action, found.name, found.subscription], [EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND, '^quiet/', 'quiet/1']);
    const timeout = await silent.next();
    assert.deepEqual([timeout.action, timeout.subscription], [EVENT_ACTION.LISTEN_RESPONSE_TIMEOUT, 'quiet/1']);
    assert.equal((await answering.next()).action, EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND);
    // A late accept from the listener that timed out is ignored.
    silent.send(event({ action: EVENT_ACTION.LISTEN_ACCEPT, name: '^quiet/', subscription: 'quiet/1' }));
    answering.send(event({ action: EVENT_ACTION.LISTEN_ACCEPT, name: '^quiet/', subscription: 'quiet/1' }));
    subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.UNSUBSCRIBE, names: ['quiet/1'], correlationId: '2' });
    const removed = await answering.next((m) => m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED);
    assert.equal(removed.subscription, 'quiet/1');
    assert.ok(await silent.nothingWithin(100));
  });
});
