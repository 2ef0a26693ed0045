import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PRESENCE_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import { CLIENT_OPTIONS, captureClientWarnings, client, eventually, pause, probe, raw, synced, useServer } from './helpers.ts';

const P = TOPIC.PRESENCE;
const presenceOnly = (m: Message) => m.topic === P;
const invalid = (originalAction: PRESENCE_ACTION, correlationId: string): Message => ({
  topic: P,
  action: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
  originalAction,
  correlationId,
  isError: true,
  names: [],
});

describe('presence with bad input (default limits)', () => {
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, presence, plugin] });
  const clientWarnings = captureClientWarnings();

  it('refuses a query for a huge list of users with INVALID_PRESENCE_USERS; the official client rejects', async () => {
    const c = await raw(server().url, 'a');
    const huge = Array.from({ length: 50_000 }, (_, i) => `u${i}`);
    // Over the kernel's connection.maxNamesPerMessage (10 000) too: refused before routing, the limit named in data.
    const tooMany = JSON.stringify('maxNamesPerMessage (10000) exceeded: the message has 50000 names');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: huge, correlationId: '1' });
    assert.deepEqual(await c.next(presenceOnly), { ...invalid(PRESENCE_ACTION.QUERY, '1'), data: tooMany });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: huge, correlationId: '2' });
    assert.deepEqual(await c.next(presenceOnly), { ...invalid(PRESENCE_ACTION.SUBSCRIBE, '2'), data: tooMany });
    assert.equal(service().stats.userSubscriptions, 0, 'nothing of a refused request is applied');

    const official = await client(server().url, 'b');
    await assert.rejects(official.presence.getAll(huge), (error) => error === 'INVALID_PRESENCE_USERS');
  });

  it('refuses very long and empty user names', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['ok', 'x'.repeat(100_000)], correlationId: '3' });
    assert.deepEqual(await c.next(presenceOnly), invalid(PRESENCE_ACTION.QUERY, '3'));
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['ok', ''], correlationId: '4' });
    assert.deepEqual(await c.next(presenceOnly), invalid(PRESENCE_ACTION.QUERY, '4'));
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: [''], correlationId: '5' });
    assert.deepEqual(await c.next(presenceOnly), invalid(PRESENCE_ACTION.SUBSCRIBE, '5'));

    const official = await client(server().url, 'b');
    await assert.rejects(official.presence.getAll(['']), (error) => error === 'INVALID_PRESENCE_USERS');
  });

  it('a refused subscribe reaches the official client as an error event, not as a missing ack', async () => {
    const official = await client(server().url, 'b');
    const errors: string[] = [];
    official.on('error', (_error: unknown, event: string) => errors.push(event));
    official.presence.subscribe('y'.repeat(1000), () => undefined);
    await eventually(() => errors.length === 1);
    await pause(CLIENT_OPTIONS.subscriptionTimeout + 100); // long enough for an ACK_TIMEOUT to show
    assert.deepEqual(errors, ['INVALID_PRESENCE_USERS']);
    assert.deepEqual(clientWarnings.filter((w) => w.includes('ACK_TIMEOUT')), []);
  });

  it('answers duplicate and awkward names sanely', async () => {
    const c = await raw(server().url, 'a');
    await raw(server().url, '__proto__');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['a', 'a', '__proto__', 'constructor', 'toString'], correlationId: '6' });
    const reply = await c.next(presenceOnly);
    assert.equal(reply.correlationId, '6');
    assert.deepEqual(JSON.parse(reply.data as string), { a: true, ['__proto__']: true, constructor: false, toString: false });
    assert.equal(reply.data, '{"a":true,"__proto__":true,"constructor":false,"toString":false}');

    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['dup', 'dup'], correlationId: '7' });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS, name: 'dup', originalAction: PRESENCE_ACTION.SUBSCRIBE, names: [] });
    assert.equal((await c.next(presenceOnly)).isAck, true);
  });

  it('answers requests without names or correlationId', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.QUERY_RESPONSE, data: '{}', names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.SUBSCRIBE, isAck: true, names: [] });
    c.send({ topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE, names: ['z'.repeat(100_000)] });
    assert.deepEqual(await c.next(presenceOnly), { topic: P, action: PRESENCE_ACTION.UNSUBSCRIBE, isAck: true, names: [] });
  });

  it('subscribing to users that do not exist is acked, and they are announced if they ever come', async () => {
    const watcher = await client(server().url, 'w');
    const seen: string[] = [];
    watcher.presence.subscribe('ghost', (user: string, online: boolean) => seen.push(`${user}:${online}`));
    watcher.presence.subscribe('never-comes', () => assert.fail('a user who never logged in was announced'));
    await synced(watcher);
    assert.deepEqual(await watcher.presence.getAll(['ghost', 'never-comes']), { ghost: false, 'never-comes': false });
    const ghost = await client(server().url, 'ghost');
    ghost.close();
    await eventually(() => seen.length === 2, 2000, () => seen);
    assert.deepEqual(seen, ['ghost:true', 'ghost:false']);
  });

  it('stays up and leaves nothing behind once everyone is gone', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY_ALL });
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.QUERY_ALL_RESPONSE);
    c.close();
    await eventually(() => service().stats.connections === 0);
    const { onlineUsers, everyoneSubscribers, watchedUsers, userSubscriptions } = service().stats;
    assert.deepEqual({ onlineUsers, everyoneSubscribers, watchedUsers, userSubscriptions }, {
      onlineUsers: 0,
      everyoneSubscribers: 0,
      watchedUsers: 0,
      userSubscriptions: 0,
    });
    assert.equal(server().logs.filter((line) => line.level >= 50).length, 0, 'no errors logged');
    assert.ok(server().warnings().some((line) => line.msg.startsWith('presence request refused')), 'refusals are logged');
  });
});

describe('presence with configured limits', () => {
  const server = useServer({ plugins: [authOpen, presence.with({ maxNamesPerRequest: 3, maxNameLength: 8 })] });

  it('accepts up to the limits and refuses one past them', async () => {
    const c = await raw(server().url, 'a');
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['a', 'b', '12345678'], correlationId: '1' });
    assert.equal((await c.next(presenceOnly)).action, PRESENCE_ACTION.QUERY_RESPONSE);
    c.send({ topic: P, action: PRESENCE_ACTION.QUERY, names: ['a', 'b', 'c', 'd'], correlationId: '2' });
    assert.deepEqual(await c.next(presenceOnly), invalid(PRESENCE_ACTION.QUERY, '2'));
    c.send({ topic: P, action: PRESENCE_ACTION.SUBSCRIBE, names: ['123456789'], correlationId: '3' });
    assert.deepEqual(await c.next(presenceOnly), invalid(PRESENCE_ACTION.SUBSCRIBE, '3'));
  });

  it('refuses to start with options that cannot work, naming the option', async () => {
    for (const options of [{ maxNamesPerRequest: 0 }, { maxNameLength: 1.5 }, { roomPrefix: '' }]) {
      await assert.rejects(startTestServer({ plugins: [authOpen, presence.with(options)] }), (error: Error) => {
        assert.match(error.message, new RegExp(Object.keys(options)[0] as string));
        return true;
      });
    }
  });
});
