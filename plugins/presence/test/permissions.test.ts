import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PRESENCE_ACTION, TOPIC, definePlugin, type Message } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import { captureClientWarnings, client, eventually, pause, probe, raw, useServer } from './helpers.ts';

const P = TOPIC.PRESENCE;
const presenceOnly = (m: Message) => m.topic === P;

/**
 * Presence rules, answered after a short wait as a rule that loads data would be:
 * user A may do nothing (the spec's `allow: "user.id === 'B'"` example, seen from A); names under
 * secret/ are denied to everyone; user "no-list" may not ask about everyone (name "undefined");
 * the name "boom" makes the rule throw (MESSAGE_PERMISSION_ERROR).
 */
const guard = definePlugin({
  name: 'presence-guard',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authorize.tapPromise(ctx.name, async ({ session, resource, name }) => {
      if (resource !== 'presence') return undefined;
      await pause(5);
      if (name === 'boom') throw new Error('rule failed');
      if (session.userId === 'A' || name.startsWith('secret/')) return { allowed: false };
      if (session.userId === 'no-list' && name === 'undefined') return { allowed: false };
      return undefined;
    });
  },
});

describe('presence with a permission plugin', () => {
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, presence, guard, plugin] });
  const clientWarnings = captureClientWarnings();

  it('answers denied requests as the reference does (EVENTS_RPC_PRESENCE §3.3)', async () => {
    const [a] = await Promise.all([raw(server().url, 'A'), raw(server().url, 'B')]);
    a.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    assert.deepEqual(await a.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.SUBSCRIBE_ALL,
      isError: true,
      names: [],
    });
    a.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    assert.deepEqual(await a.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.QUERY_ALL,
      isError: true,
      names: [],
    });
    a.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['B'], correlationId: 'q' });
    assert.deepEqual(await a.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.QUERY,
      correlationId: 'q',
      name: 'B',
      isError: true,
      names: [],
    });
    // Every name denied: no QUERY_RESPONSE, no ack (PROTOCOL §5.4).
    a.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['B'], correlationId: 's' });
    assert.equal((await a.next(presenceOnly)).action, PRESENCE_ACTION.MESSAGE_DENIED);
    assert.ok(await a.nothingWithin(150, presenceOnly));
    // Nothing denied is in effect: A hears no join.
    await raw(server().url, 'late');
    assert.ok(await a.nothingWithin(100, presenceOnly));
  });

  it('the official client rejects getAll() with MESSAGE_DENIED and reports a denied subscribe', async () => {
    const [a] = await Promise.all([client(server().url, 'A'), client(server().url, 'B')]);
    const errors: string[] = [];
    a.on('error', (_error: unknown, event: string) => errors.push(event));
    await assert.rejects(a.presence.getAll(), (error) => error === 'MESSAGE_DENIED');
    await assert.rejects(a.presence.getAll(['B']), (error) => error === 'MESSAGE_DENIED');
    a.presence.subscribe(() => assert.fail('a denied subscription delivered a notification'));
    a.presence.subscribe('B', () => assert.fail('a denied subscription delivered a notification'));
    await eventually(() => errors.length === 2);
    await pause(100);
    assert.deepEqual(errors.sort(), ['MESSAGE_DENIED', 'MESSAGE_DENIED']);
  });

  it('checks names one by one: denials per name, the rest served and acked', async () => {
    const [c] = await Promise.all([raw(server().url, 'C'), raw(server().url, 'ok')]);
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['ok', 'secret/x', 'other'], correlationId: '4' });
    assert.deepEqual(await c.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.SUBSCRIBE,
      correlationId: '4',
      name: 'secret/x',
      isError: true,
      names: [],
    });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '4', isAck: true, names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['ok', 'secret/y', 'other'], correlationId: '5' });
    assert.equal((await c.next(presenceOnly)).name, 'secret/y');
    assert.deepEqual(await c.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.QUERY_RESPONSE,
      correlationId: '5',
      data: '{"ok":true,"other":false}',
      names: [],
    });
    await raw(server().url, 'other');
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.PRESENCE_JOIN, name: 'other', names: [] });
  });

  it('asks about everyone under the name "undefined", as the reference does', async () => {
    const c = await raw(server().url, 'no-list');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.MESSAGE_DENIED);
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['anyone'], correlationId: '1' });
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.QUERY_RESPONSE);
  });

  it('a rule that fails gives MESSAGE_PERMISSION_ERROR', async () => {
    const c = await raw(server().url, 'C');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['boom'], correlationId: '6' });
    assert.deepEqual(await c.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MESSAGE_PERMISSION_ERROR,
      originalAction: PRESENCE_ACTION.QUERY,
      correlationId: '6',
      name: 'boom',
      isError: true,
      names: [],
    });
  });

  it('keeps each client\'s requests in order while checks wait: subscribe then unsubscribe ends unsubscribed', async () => {
    const c = await raw(server().url, 'C');
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    c.send({ topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['d'], correlationId: '1' });
    c.send({ topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE, names: ['d'], correlationId: '2' });
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.SUBSCRIBE_ALL);
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.UNSUBSCRIBE_ALL);
    assert.equal((await c.next(presenceOnly)).correlationId, '1');
    assert.equal((await c.next(presenceOnly)).correlationId, '2');
    await raw(server().url, 'd');
    assert.ok(await c.nothingWithin(150, presenceOnly));
  });

  it('a client that leaves while its checks wait leaves nothing behind', async () => {
    const c = await raw(server().url, 'C');
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['e', 'f', 'g'], correlationId: '1' });
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    c.close();
    await eventually(() => service().stats.connections === 0);
    await pause(50);
    const { everyoneSubscribers, watchedUsers, userSubscriptions } = service().stats;
    assert.deepEqual({ everyoneSubscribers, watchedUsers, userSubscriptions }, {
      everyoneSubscribers: 0,
      watchedUsers: 0,
      userSubscriptions: 0,
    });
  });

  it('the official client saw every ack it waited for', async () => {
    const c = await client(server().url, 'C');
    c.presence.subscribe(() => undefined);
    c.presence.subscribe('someone', () => undefined);
    await c.presence.getAll();
    await pause(600);
    assert.deepEqual(clientWarnings.filter((w) => w.includes('ACK_TIMEOUT')), []);
  });
});
