import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import { captureClientWarnings, client, eventually, pause, probe, synced, useServer } from './helpers.ts';
import { clustered } from '../../../test/helpers/topology.ts';

describe('presence with the official client', () => {
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, presence, plugin] });
  const clientWarnings = captureClientWarnings();

  it('getAll() lists who is online, without the asker', async () => {
    const [alice] = await Promise.all([client(server().url, 'alice'), client(server().url, 'bob'), client(server().url, 'carol')]);
    assert.deepEqual((await alice.presence.getAll()).sort(), ['bob', 'carol']);
  });

  it('getAll(users) answers per user, the asker included, unknown users false', async () => {
    const [alice] = await Promise.all([client(server().url, 'alice'), client(server().url, 'bob')]);
    assert.deepEqual(await alice.presence.getAll(['bob', 'alice', 'nobody']), { bob: true, alice: true, nobody: false });
    assert.deepEqual(await alice.presence.getAll([]), {});
  });

  it('subscribe(cb) hears a join on the first connection and a leave on the last only', async () => {
    const watcher = await client(server().url, 'watcher');
    const seen: Array<[string, boolean]> = [];
    watcher.presence.subscribe((user: string, online: boolean) => seen.push([user, online]));
    await synced(watcher);
    const first = await client(server().url, 'dave');
    const second = await client(server().url, 'dave');
    await pause(100);
    assert.deepEqual(seen, [['dave', true]]);
    first.close();
    await pause(150);
    assert.deepEqual(seen, [['dave', true]], 'closing one of two connections is silent');
    second.close();
    await eventually(() => seen.length === 2, 2000, () => seen);
    assert.deepEqual(seen, [['dave', true], ['dave', false]]);
  });

  it('subscribe(user, cb) hears only that user; unsubscribe stops it', async () => {
    const watcher = await client(server().url, 'watcher');
    const seen: Array<[string, boolean]> = [];
    const onErin = (user: string, online: boolean) => seen.push([user, online]);
    watcher.presence.subscribe('erin', onErin);
    await synced(watcher);
    const frank = await client(server().url, 'frank');
    const erin = await client(server().url, 'erin');
    await eventually(() => seen.length === 1, 2000, () => seen);
    frank.close();
    erin.close();
    await eventually(() => seen.length === 2, 2000, () => seen);
    assert.deepEqual(seen, [['erin', true], ['erin', false]]);

    watcher.presence.unsubscribe('erin', onErin);
    await synced(watcher);
    await client(server().url, 'erin');
    await pause(150);
    assert.equal(seen.length, 2);
  });

  it('unsubscribe(cb) of the global subscription stops join/leave notifications', async () => {
    const watcher = await client(server().url, 'watcher');
    const seen: string[] = [];
    const onAny = (user: string) => seen.push(user);
    watcher.presence.subscribe(onAny);
    await synced(watcher);
    await client(server().url, 'gina');
    await eventually(() => seen.includes('gina'));
    watcher.presence.unsubscribe(onAny);
    await synced(watcher);
    await client(server().url, 'hank');
    await pause(150);
    assert.deepEqual(seen, ['gina']);
  });

  it('a connection subscribed both ways gets both callbacks; unsubscribe() with no arguments stops them', async () => {
    const watcher = await client(server().url, 'ivy');
    const seen: string[] = [];
    watcher.presence.subscribe((user: string, online: boolean) => seen.push(`all:${user}:${online}`));
    watcher.presence.subscribe('jack', (user: string, online: boolean) => seen.push(`one:${user}:${online}`));
    await synced(watcher);
    const jack = await client(server().url, 'jack');
    await eventually(() => seen.length === 2, 2000, () => seen);
    assert.deepEqual(seen, ['all:jack:true', 'one:jack:true']);
    watcher.presence.unsubscribe();
    await synced(watcher);
    assert.equal(service().stats.everyoneSubscribers, 0);
    // Client 7.0.5 quirk: unsubscribe() lists the user names after clearing them, so it sends no
    // UNSUBSCRIBE for them; the server keeps that subscription until the connection goes.
    assert.equal(service().stats.userSubscriptions, 1);
    jack.close();
    await pause(150);
    assert.equal(seen.length, 2);
  });

  it('anonymous logins are the tracked user "open"; a login as "OPEN" is invisible', async () => {
    const watcher = await client(server().url, 'watcher');
    const seen: string[] = [];
    watcher.presence.subscribe((user: string, online: boolean) => seen.push(`${user}:${online}`));
    await synced(watcher);
    const anonymous = await client(server().url); // open strategy: id "open"
    const invisible = await client(server().url, 'OPEN');
    await pause(150);
    assert.deepEqual(seen, ['open:true']);
    assert.ok((await watcher.presence.getAll()).includes('open'));
    assert.ok(!(await watcher.presence.getAll()).includes('OPEN'));
    assert.deepEqual(await watcher.presence.getAll(['OPEN', 'open']), { OPEN: false, open: true });
    // The anonymous asker is excluded from its own list, the invisible one sees everybody.
    assert.ok(!(await anonymous.presence.getAll()).includes('open'));
    assert.ok((await invisible.presence.getAll()).includes('open'));
    invisible.close();
    anonymous.close();
    await eventually(() => seen.length === 2, 2000, () => seen);
    assert.deepEqual(seen, ['open:true', 'open:false']);
  });

  it('re-subscribes after a reconnect and still hears joins', async () => {
    const watcher = await client(server().url, 'watcher', { reconnectIntervalIncrement: 50 });
    const seen: string[] = [];
    watcher.presence.subscribe((user: string) => seen.push(user));
    await synced(watcher);
    // Cut the socket from the server side: the client reconnects and sends SUBSCRIBE_ALL again.
    const cut = (server().nodes ?? [server()]).flatMap((node) => [...node.kernel.sessions]).filter((session) => session.userId === 'watcher');
    for (const session of cut) session.connection.terminate();
    await eventually(() => cut.every((session) => session.isClosed));
    // The old session took its subscription with it: one subscriber again means the new one.
    await eventually(() => service().stats.everyoneSubscribers === 1, 3000);
    await client(server().url, 'kate');
    await eventually(() => seen.includes('kate'));
  });

  it('leaves nothing behind once everyone is gone, and the client saw no missing acks', async () => {
    const a = await client(server().url, 'lea');
    const b = await client(server().url, 'max');
    a.presence.subscribe(() => undefined);
    a.presence.subscribe('max', () => undefined);
    b.presence.subscribe('lea', () => undefined);
    await Promise.all([synced(a), synced(b)]);
    assert.ok(service().stats.onlineUsers >= 2);
    a.close();
    b.close();
    await eventually(() => service().stats.connections === 0);
    assert.deepEqual(service().stats, {
      onlineUsers: 0,
      connections: 0,
      everyoneSubscribers: 0,
      watchedUsers: 0,
      userSubscriptions: 0,
      rooms: 0,
      roomMemberships: 0,
      occupiedRooms: 0,
    });
    assert.deepEqual(clientWarnings.filter((w) => w.includes('ACK_TIMEOUT')), []);
    assert.deepEqual(server().warnings(), []);
  });
});
