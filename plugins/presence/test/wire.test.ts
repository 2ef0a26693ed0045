import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PRESENCE_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import { isPresence, raw, useServer } from './helpers.ts';

const P = TOPIC.PRESENCE;
const presenceOnly = (m: Message) => m.topic === P;

describe('presence wire shapes (PROTOCOL §5.1, §7.7)', () => {
  const server = useServer({ plugins: [authOpen, presence] });

  it('SUBSCRIBE_ALL is acked with no correlationId and no name; a second one gets MULTIPLE_SUBSCRIPTIONS then the ack', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL, isAck: true, names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    assert.deepEqual(await c.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS,
      name: '%_EVERYONE_%',
      originalAction: PRESENCE_ACTION.SUBSCRIBE_ALL,
      names: [],
    });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL, isAck: true, names: [] });
  });

  it('UNSUBSCRIBE_ALL is acked, also when not subscribed', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL, isAck: true, names: [] });
  });

  it('SUBSCRIBE / UNSUBSCRIBE are acked with the correlationId and no names; duplicates get MULTIPLE_SUBSCRIPTIONS', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['x', 'y'], correlationId: '0' });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '0', isAck: true, names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['y'], correlationId: '1' });
    assert.deepEqual(await c.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS,
      name: 'y',
      originalAction: PRESENCE_ACTION.SUBSCRIBE,
      names: [],
    });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '1', isAck: true, names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE, names: ['x', 'never'], correlationId: '2' });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE, correlationId: '2', isAck: true, names: [] });
  });

  it('QUERY_ALL_RESPONSE carries the names and no correlationId', async () => {
    const [asker] = await Promise.all([raw(server().url, 'asker'), raw(server().url, 'b'), raw(server().url, 'c')]);
    asker.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    const reply = await asker.next(presenceOnly);
    assert.deepEqual({ ...reply, names: [...(reply.names ?? [])].sort() }, { topic: P, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names: ['b', 'c'] });
  });

  it('QUERY_RESPONSE carries the correlationId and a JSON map of the requested names', async () => {
    const [asker] = await Promise.all([raw(server().url, 'asker'), raw(server().url, 'b')]);
    asker.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['b', 'asker', 'z'], correlationId: '9' });
    assert.deepEqual(await asker.next(presenceOnly), {
      topic: P,
      action: PRESENCE_ACTION.QUERY_RESPONSE,
      correlationId: '9',
      data: '{"b":true,"asker":true,"z":false}',
      names: [],
    });
  });

  it('announces JOIN_ALL before JOIN, LEAVE_ALL before LEAVE, each with the user as name', async () => {
    const watcher = await raw(server().url, 'w');
    watcher.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    watcher.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['joiner'], correlationId: '0' });
    await watcher.next((m) => m.action === PRESENCE_ACTION.SUBSCRIBE && m.isAck === true);
    await watcher.next((m) => m.action === PRESENCE_ACTION.SUBSCRIBE_ALL && m.isAck === true);
    const joiner = await raw(server().url, 'joiner');
    assert.deepEqual(await watcher.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.PRESENCE_JOIN_ALL, name: 'joiner', names: [] });
    assert.deepEqual(await watcher.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.PRESENCE_JOIN, name: 'joiner', names: [] });
    joiner.close();
    assert.deepEqual(await watcher.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.PRESENCE_LEAVE_ALL, name: 'joiner', names: [] });
    assert.deepEqual(await watcher.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.PRESENCE_LEAVE, name: 'joiner', names: [] });
  });

  it('sends nothing for a second connection of an online user, nor when a non-last one closes', async () => {
    const watcher = await raw(server().url, 'w');
    const first = await raw(server().url, 'twice');
    watcher.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    await watcher.next(presenceOnly);
    const second = await raw(server().url, 'twice');
    second.close();
    await second.closed;
    assert.ok(await watcher.nothingWithin(150, presenceOnly));
    first.close();
    assert.equal((await watcher.next(presenceOnly)).action, PRESENCE_ACTION.PRESENCE_LEAVE_ALL);
  });

  it('ignores client messages with server-only actions, and stays usable', async () => {
    const c = await raw(server().url, 'a');
    for (const action of [PRESENCE_ACTION.QUERY_RESPONSE, PRESENCE_ACTION.PRESENCE_JOIN, PRESENCE_ACTION.MESSAGE_DENIED, 99 as PRESENCE_ACTION]) {
      c.send({ topic: P, action, name: 'x' });
    }
    assert.ok(await c.nothingWithin(150, presenceOnly));
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    await c.next(isPresence(PRESENCE_ACTION.QUERY_ALL_RESPONSE));
  });
});
