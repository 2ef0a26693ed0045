import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_ACTION, PRESENCE_ACTION, TOPIC, definePlugin, type Message } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import presence from '@deepstream-ts/plugin-presence';
import type { DeepstreamClient } from '@deepstream/client';
import { client, eventually, isPresence, pause, probe, raw, settle, useServer } from './helpers.ts';
import { clustered } from '../../../test/helpers/topology.ts';

const ROOM = 'presence-room/';
const E = TOPIC.EVENT;
const eventsOnly = (m: Message) => m.topic === E;

/** Everything a client hears on a room event, in order. */
function listen(c: DeepstreamClient, room: string): unknown[] {
  const heard: unknown[] = [];
  c.event.subscribe(ROOM + room, (data: unknown) => heard.push(data));
  return heard;
}

describe('rooms: per-channel presence over events (official client)', () => {
  const { plugin, service, each } = probe();
  const server = useServer({ plugins: [authOpen, events, presence.with({ rooms: true }), plugin] });

  it('a room spans the nodes: a joiner hears who joined on any node, and once it has, every node lists it', async () => {
    // One member per node when the server is several (DS_TEST_TOPOLOGY), all on the one node otherwise.
    const urls = (server().nodes ?? [server()]).map((node) => node.url);
    const users = ['n0', 'n1', 'n2'];
    const heard: unknown[][] = [];
    for (const [i, user] of users.entries()) {
      const c = await client(urls[i % urls.length]!, user);
      const mine = listen(c, 'span');
      heard.push(mine);
      await eventually(() => mine.length === 1);
      // Read-your-writes: the snapshot holds every earlier join, and every node already lists this one.
      assert.deepEqual((mine[0] as { members: string[] }).members.sort(), users.slice(0, i));
      for (const node of each()) assert.deepEqual(node.roomMembers('span').sort(), users.slice(0, i + 1));
    }
    await eventually(() => heard[0]!.length === 3 && heard[1]!.length === 2);
    assert.deepEqual(heard[0]!.slice(1), [{ join: 'n1' }, { join: 'n2' }]);
    assert.deepEqual(heard[1]!.slice(1), [{ join: 'n2' }]);
  });

  it('a joiner hears who is there; members hear joins and leaves', async () => {
    const alice = await client(server().url, 'alice');
    const aliceHeard = listen(alice, 'lobby');
    await eventually(() => aliceHeard.length === 1);
    assert.deepEqual(aliceHeard, [{ members: [] }]);
    const bob = await client(server().url, 'bob');
    const bobHeard = listen(bob, 'lobby');
    await eventually(() => bobHeard.length === 1 && aliceHeard.length === 2);
    assert.deepEqual(bobHeard, [{ members: ['alice'] }]);
    assert.deepEqual(aliceHeard, [{ members: [] }, { join: 'bob' }]);
    assert.deepEqual(service().roomMembers('lobby').sort(), ['alice', 'bob']);
    bob.close();
    await eventually(() => aliceHeard.length === 3);
    assert.deepEqual(aliceHeard[2], { leave: 'bob' });
  });

  it('unsubscribing leaves the room; being online elsewhere does not count', async () => {
    const [carol, dan] = await Promise.all([client(server().url, 'carol'), client(server().url, 'dan')]);
    const carolHeard = listen(carol, 'kitchen');
    await eventually(() => carolHeard.length === 1);
    const onDan = () => undefined;
    dan.event.subscribe(ROOM + 'kitchen', onDan);
    await eventually(() => carolHeard.length === 2);
    // Asked on the first node, which may be neither carol's nor dan's: it hears a bus hop later.
    await eventually(() => service().roomMembers('kitchen').length === 2);
    assert.deepEqual(service().roomMembers('kitchen').sort(), ['carol', 'dan']);
    dan.event.unsubscribe(ROOM + 'kitchen', onDan);
    await eventually(() => carolHeard.length === 3);
    assert.deepEqual(carolHeard, [{ members: [] }, { join: 'dan' }, { leave: 'dan' }]);
    await eventually(() => service().roomMembers('kitchen').length === 1);
    assert.deepEqual(service().roomMembers('kitchen'), ['carol']);
    assert.equal(service().isOnline('dan'), true);
  });

  it('counts a user once per room: join on the first connection there, leave on the last', async () => {
    const watcher = await client(server().url, 'watcher');
    const heard = listen(watcher, 'hall');
    await eventually(() => heard.length === 1);
    const [one, two] = await Promise.all([client(server().url, 'eve'), client(server().url, 'eve')]);
    listen(one, 'hall');
    const secondHeard = listen(two, 'hall');
    await eventually(() => heard.length === 2 && secondHeard.length === 1);
    await settle();
    assert.deepEqual(heard, [{ members: [] }, { join: 'eve' }]);
    assert.deepEqual(secondHeard.length, 1, 'each connection gets its own snapshot');
    one.close();
    await pause(150);
    assert.equal(heard.length, 2);
    two.close();
    await eventually(() => heard.length === 3);
    assert.deepEqual(heard[2], { leave: 'eve' });
  });

  it('only the server speaks in a room: a client emit is refused and reaches nobody', async () => {
    const [member, spoofer] = await Promise.all([client(server().url, 'member'), client(server().url, 'spoofer')]);
    const heard = listen(member, 'stage');
    const errors: string[] = [];
    spoofer.on('error', (_error: unknown, event: string) => errors.push(event));
    await eventually(() => heard.length === 1);
    spoofer.event.emit(ROOM + 'stage', { join: 'nobody' });
    await eventually(() => errors.length === 1);
    await pause(100);
    assert.deepEqual(heard, [{ members: [] }]);
    assert.deepEqual(errors, ['MESSAGE_DENIED']);
  });

  it('an "OPEN" login may listen to a room but is never shown in it', async () => {
    const member = await client(server().url, 'frank');
    const heard = listen(member, 'secretive');
    await eventually(() => heard.length === 1);
    const invisible = await client(server().url, 'OPEN');
    const invisibleHeard = listen(invisible, 'secretive');
    await eventually(() => invisibleHeard.length === 1);
    await pause(100);
    assert.deepEqual(invisibleHeard, [{ members: ['frank'] }]);
    invisible.close();
    await pause(150);
    assert.deepEqual(heard, [{ members: [] }]);
  });

  it('leaves nothing behind', async () => {
    await eventually(() => service().stats.roomMemberships === 0 && service().stats.occupiedRooms === 0);
    const { rooms, roomMemberships, occupiedRooms, connections } = service().stats;
    assert.deepEqual({ rooms, roomMemberships, occupiedRooms, connections }, {
      rooms: 0,
      roomMemberships: 0,
      occupiedRooms: 0,
      connections: 0,
    });
  });
});

describe('rooms on the wire, with limits and permissions', () => {
  /** Every name the guard was asked about. */
  const asked: string[] = [];
  // Denies event subscriptions to one room after a short wait, as a rule that loads data would.
  const guard = definePlugin({
    name: 'room-guard',
    version: '1.0.0',
    kernel: '^0.1.0',
    setup(ctx) {
      ctx.hooks.authorize.tapPromise(ctx.name, async ({ name }) => {
        asked.push(name);
        await pause(5);
        return name === ROOM + 'private' ? { allowed: false } : undefined;
      });
    },
  });
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, events, presence.with({ rooms: true, maxRoomsPerConnection: 2, maxNameLength: 20 }), guard, plugin] });

  it('announces as plain EMITs on the room event', async () => {
    const [a, b] = await Promise.all([raw(server().url, 'a'), raw(server().url, 'b')]);
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: ['chat', ROOM + 'r'], correlationId: '1' });
    // Alone the snapshot comes first; in a cluster it waits for a bus barrier and may follow the ack.
    const replies = [await a.next(eventsOnly), await a.next(eventsOnly)];
    if (!clustered) assert.equal(replies[0]!.action, EVENT_ACTION.EMIT);
    assert.deepEqual(replies.sort((x, y) => x.action - y.action), [
      { topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'r', data: '{"members":[]}', names: [] },
      { topic: E, action: EVENT_ACTION.SUBSCRIBE, correlationId: '1', isAck: true, names: [] },
    ]);
    b.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'r'], correlationId: '1' });
    assert.deepEqual(await a.next(eventsOnly), { topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'r', data: '{"join":"b"}', names: [] });
    b.send({ topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'r', data: '{"leave":"b"}' });
    assert.deepEqual(await b.next((m) => m.action === EVENT_ACTION.MESSAGE_DENIED), {
      topic: E,
      action: EVENT_ACTION.MESSAGE_DENIED,
      name: ROOM + 'r',
      originalAction: EVENT_ACTION.EMIT,
      isError: true,
      names: [],
    });
    assert.ok(await a.nothingWithin(100, eventsOnly));
  });

  it('a denied subscription joins no room (the events plugin answers the denial)', async () => {
    const [a, b] = await Promise.all([raw(server().url, 'a'), raw(server().url, 'b')]);
    b.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'private', ROOM + 'public'], correlationId: '1' });
    const replies = [await b.next(eventsOnly), await b.next(eventsOnly), await b.next(eventsOnly)];
    assert.deepEqual(replies.map((m) => [EVENT_ACTION[m.action], m.name ?? '']).sort(), [
      ['EMIT', ROOM + 'public'],
      ['MESSAGE_DENIED', ROOM + 'private'],
      ['SUBSCRIBE', ''],
    ]);
    assert.ok(await b.nothingWithin(100, eventsOnly), 'exactly one denial');
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'private'], correlationId: '1' });
    assert.equal((await a.next(eventsOnly)).action, EVENT_ACTION.MESSAGE_DENIED);
    assert.deepEqual(service().roomMembers('private'), []);
  });

  it('asks each room subscription once: rooms follow the events plugin, they do not ask again', async () => {
    const a = await raw(server().url, 'a');
    asked.length = 0;
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'once'], correlationId: '1' });
    // In a cluster the ack may come first: the snapshot waits for a bus barrier.
    assert.equal((await a.next((m) => m.action === EVENT_ACTION.EMIT)).data, '{"members":[]}');
    assert.deepEqual(asked, [ROOM + 'once']);
    assert.deepEqual(service().roomMembers('once'), ['a']);
  });

  it('keeps join and leave in order while permission checks wait', async () => {
    const a = await raw(server().url, 'a');
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'quick'], correlationId: '1' });
    a.send({ topic: E, action: EVENT_ACTION.UNSUBSCRIBE, names: [ROOM + 'quick'], correlationId: '2' });
    await a.next((m) => m.correlationId === '2');
    await pause(20);
    // A presence query on a's node waits for a bus barrier: then every node has what that node sent.
    a.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL });
    await a.next(isPresence(PRESENCE_ACTION.QUERY_ALL_RESPONSE));
    assert.deepEqual(service().roomMembers('quick'), []);
  });

  it('refuses rooms over the per-connection limit and over-long room ids', async () => {
    const a = await raw(server().url, 'a');
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + '1', ROOM + '2', ROOM + '3', ROOM + 'x'.repeat(21)], correlationId: '1' });
    const denied: string[] = [];
    const joined: string[] = [];
    let acks = 0;
    // Two snapshots, two denials and the ack, in an order that depends on the topology.
    for (let i = 0; i < 5; i++) {
      const m = await a.next(eventsOnly);
      if (m.isAck === true) acks++;
      else (m.action === EVENT_ACTION.EMIT ? joined : denied).push(m.name as string);
    }
    assert.ok(await a.nothingWithin(50, eventsOnly));
    assert.equal(acks, 1);
    assert.deepEqual(joined.sort(), [ROOM + '1', ROOM + '2']);
    assert.deepEqual(denied.sort(), [ROOM + '3', ROOM + 'x'.repeat(21)]);
  });

  it('a disconnect leaves every room', async () => {
    const [a, b] = await Promise.all([raw(server().url, 'a'), raw(server().url, 'b')]);
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'm', ROOM + 'n'], correlationId: '1' });
    b.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'm'], correlationId: '1' });
    await eventually(() => service().roomMembers('m').length === 2);
    b.close();
    assert.deepEqual(await a.next((m) => m.data === '{"leave":"b"}'), { topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'm', data: '{"leave":"b"}', names: [] });
    a.close();
    // Occupied rooms are counted cluster-wide: other nodes hear the leaves a bus hop later.
    await eventually(() => service().stats.roomMemberships === 0 && service().stats.connections === 0 && service().stats.occupiedRooms === 0);
  });
});

describe('rooms are off by default', () => {
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, events, presence, plugin] });

  it('a room-like event is just an event', async () => {
    const [a, b] = await Promise.all([raw(server().url, 'a'), raw(server().url, 'b')]);
    a.send({ topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [ROOM + 'r'], correlationId: '1' });
    assert.equal((await a.next(eventsOnly)).isAck, true);
    b.send({ topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'r', data: '1' });
    assert.deepEqual(await a.next(eventsOnly), { topic: E, action: EVENT_ACTION.EMIT, name: ROOM + 'r', data: '1', names: [] });
    assert.equal(service().stats.rooms, 0);
  });
});
