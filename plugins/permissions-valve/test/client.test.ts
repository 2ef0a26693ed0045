/**
 * The valve with the official client over real sockets, using the "complex" permissions of the
 * reference e2e suite (SECURITY §3.8) from test/fixtures/permissions.yml.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { EVENT_ACTION, TOPIC } from '@deepstream-ts/core';
import { client, closeClients, pause, raw, setData, startValveServer, until, type ValveServer } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/permissions.yml', import.meta.url));
let counter = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${counter++}`;

describe('permissions with the official client', { timeout: 20_000 }, () => {
  let server: ValveServer;
  before(async () => {
    server = await startValveServer({ path: FIXTURE });
  });
  afterEach(async () => {
    closeClients();
    await until(() => server.kernel.sessions.size === 0, 'every client is gone');
  });
  after(() => server.stop());

  describe('events', () => {
    it('publish: checks the payload (data > 10); denied emits reach nobody', async () => {
      const [sender, receiver] = await Promise.all([client(server.url, 'a'), client(server.url, 'b')]);
      const received: unknown[] = [];
      receiver.event.subscribe('number', (data: unknown) => received.push(data));
      await server.subscribed('number', 1);
      sender.event.emit('number', 11);
      sender.event.emit('number', 9);
      sender.event.emit('number', 'not a number');
      await until(() => sender.errors.length === 2, 'two denials');
      await pause(50);
      assert.deepEqual(received, [11]);
      assert.deepEqual(sender.errors, ['MESSAGE_DENIED', 'MESSAGE_DENIED']);
    });

    it('publish: a path variable against the payload, and serverData as user.data', async () => {
      const [admin, user, receiver] = await Promise.all([client(server.url, 'admin-ann'), client(server.url, 'bob'), client(server.url, 'c')]);
      const received: unknown[] = [];
      receiver.event.subscribe('place/berlin', (data: unknown) => received.push(data));
      receiver.event.subscribe('admin-publish', (data: unknown) => received.push(data));
      await Promise.all([server.subscribed('place/berlin', 1), server.subscribed('admin-publish', 1)]);
      user.event.emit('place/berlin', { address: { city: 'Berlin' } });
      user.event.emit('place/berlin', { address: { city: 'Paris' } });
      admin.event.emit('admin-publish', 'from admin');
      user.event.emit('admin-publish', 'from bob');
      await until(() => user.errors.length === 2, 'two denials');
      await pause(50);
      assert.deepEqual(received, [{ address: { city: 'Berlin' } }, 'from admin']);
      // user.data is null without serverData: reading .role is a rule error, MESSAGE_PERMISSION_ERROR,
      // which the official client's event handler does not know and reports as UNSOLICITED_MESSAGE.
      assert.deepEqual(user.errors.sort(), ['MESSAGE_DENIED', 'UNSOLICITED_MESSAGE']);
      assert.deepEqual(admin.errors, []);
    });

    it('subscribe: denied subscriptions are reported and receive nothing; rules may use the user id', async () => {
      const [staff, bob, sender] = await Promise.all([client(server.url, 'staff-1'), client(server.url, 'bob'), client(server.url, 'sender')]);
      const seen: string[] = [];
      staff.event.subscribe('chat/staff', () => seen.push('staff'));
      bob.event.subscribe('chat/staff', () => seen.push('bob'));
      bob.event.subscribe('chat/lobby', () => seen.push('bob in lobby'));
      bob.event.subscribe('secret/plans', () => seen.push('secret'));
      await until(() => bob.errors.length === 2, 'bob hears of two denials');
      await Promise.all([server.subscribed('chat/staff', 1), server.subscribed('chat/lobby', 1)]);
      sender.event.emit('chat/staff', 1);
      sender.event.emit('chat/lobby', 1);
      await until(() => seen.length === 2, 'two deliveries');
      await pause(50);
      assert.deepEqual(seen.sort(), ['bob in lobby', 'staff']);
      assert.deepEqual(bob.errors, ['MESSAGE_DENIED', 'MESSAGE_DENIED']);
    });

    it('bulk subscribe: each name checked, denied names removed, the rest subscribed and acked (PROTOCOL §5.4)', async () => {
      const [c, sender] = await Promise.all([raw(server.url, 'bulk'), client(server.url, 'sender')]);
      c.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['secret/a', 'open/a', 'open/b'], correlationId: '7' });
      const denial = await c.next();
      assert.equal(denial.action, EVENT_ACTION.MESSAGE_DENIED);
      assert.equal(denial.name, 'secret/a');
      assert.equal(denial.correlationId, '7');
      const ack = await c.next();
      assert.equal(ack.isAck, true);
      sender.event.emit('open/b', 'b');
      sender.event.emit('secret/a', 'nope');
      const delivered = await c.next();
      assert.equal(delivered.name, 'open/b');
      assert.ok(await c.nothingWithin(100));
    });
  });

  describe('records', () => {
    it('public-read-private-write/$userid: only the owner writes, everyone reads', async () => {
      const [alice, bob] = await Promise.all([client(server.url, 'alice'), client(server.url, 'bob')]);
      const name = 'public-read-private-write/alice';
      await setData(alice, name, { bio: 'hi' });
      await assert.rejects(setData(bob, name, { bio: 'hacked' }), (error) => error === 'MESSAGE_DENIED');
      assert.deepEqual(await bob.record.snapshot(name), { bio: 'hi' });
      const record = bob.record.getRecord(name);
      await record.whenReady();
      await assert.rejects(record.setWithAck('bio', 'patched by bob'), (error) => error === 'MESSAGE_DENIED');
      assert.deepEqual((await server.stored(name))?.data, { bio: 'hi' });
    });

    it('only-increment: data (after the write) against oldData, for whole-record sets and path sets', async () => {
      // `other` holds no copy of the record, so its setData calls go out as CREATEANDUPDATE / CREATEANDPATCH.
      const [c, other] = await Promise.all([client(server.url, 'counter'), client(server.url, 'other')]);
      const record = c.record.getRecord(unique('only-increment/'));
      await record.whenReady();
      await record.setWithAck({ value: 1 });
      await record.setWithAck('value', 3); // PATCH: data is the record with the patch applied
      await assert.rejects(setData(other, record.name, { value: 2 }), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(setData(other, record.name, 'value', 0), (error) => error === 'MESSAGE_DENIED');
      await setData(other, record.name, 'value', 5);
      assert.deepEqual((await server.stored(record.name))?.data, { value: 5 });
      await until(() => record.get('value') === 5, 'the subscriber has the update');
      await assert.rejects(record.setWithAck('value', 4), (error) => error === 'MESSAGE_DENIED');
      assert.deepEqual((await server.stored(record.name))?.data, { value: 5 });
    });

    it('only-delete-egon-miller/$firstname/$lastname: several path variables', async () => {
      const c = await client(server.url, 'deleter');
      for (const [first, last, allowed] of [['Egon', 'Miller', true], ['egon', 'MILLER', true], ['Egon', 'Müller', false], ['Mike', 'Miller', false]] as const) {
        const record = c.record.getRecord(`only-delete-egon-miller/${first}/${last}`);
        await record.whenReady();
        if (allowed) await record.delete();
        else await assert.rejects(record.delete() as Promise<void>, (error) => error === 'MESSAGE_DENIED');
      }
      assert.equal(await server.stored('only-delete-egon-miller/Egon/Miller'), undefined);
      assert.deepEqual(await server.stored('only-delete-egon-miller/Egon/Müller'), { version: 0, data: {} }, 'denied: still there');
    });

    it('only-allows-purchase-of-products-in-stock: a cross-reference driven by data', async () => {
      const c = await client(server.url, 'shopper');
      await setData(c, 'item/in-stock', { stock: 2 });
      await setData(c, 'item/sold-out', { stock: 0 });
      const purchase = unique('only-allows-purchase-of-products-in-stock/');
      await setData(c, purchase, { itemId: 'in-stock' });
      await assert.rejects(setData(c, purchase, { itemId: 'sold-out' }), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(setData(c, purchase, { itemId: 'no-such-item' }), (error) => error === 'MESSAGE_PERMISSION_ERROR');
      assert.deepEqual((await server.stored(purchase))?.data, { itemId: 'in-stock' });
    });

    it('d/*: create and read decided by another record; a missing one is a permission error', async () => {
      const [admin, reader] = await Promise.all([client(server.url, 'admin-x'), client(server.url, 'reader')]);
      const first = reader.record.getRecord(unique('d/'));
      await until(() => reader.errors.includes('MESSAGE_PERMISSION_ERROR'), 'perm/JohnDoe is missing: _().boolean throws');
      first.discard();
      await setData(admin, 'perm/JohnDoe', { boolean: false });
      await assert.rejects(reader.record.snapshot(unique('d/')), (error) => error === 'MESSAGE_DENIED');
      await setData(admin, 'perm/JohnDoe', { boolean: true });
      const record = reader.record.getRecord(unique('d/'));
      await record.whenReady();
      assert.deepEqual(record.get(), {});
    });

    it('private/*: nothing is created, read, written or deleted', async () => {
      const c = await client(server.url, 'intruder');
      await assert.rejects(c.record.snapshot('private/x'), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(setData(c, 'private/x', { a: 1 }), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(c.record.has('private/x'), (error) => error === 'MESSAGE_DENIED');
      c.record.getRecord('private/y');
      await until(() => c.errors.includes('MESSAGE_DENIED'), 'the subscription is denied');
      assert.equal(await server.stored('private/x'), undefined);
      assert.equal(await server.stored('private/y'), undefined);
    });

    it('owned/$owner: create, write and delete by the owner only; read by logged-in users', async () => {
      const [owner, other, intruder, anonymous] = await Promise.all([client(server.url, 'olga'), client(server.url, 'other'), client(server.url, 'other'), client(server.url, 'open')]);
      const name = 'owned/olga';
      // (A client whose subscription was denied keeps a record that never becomes ready: a second client reads.)
      intruder.record.getRecord(name);
      await until(() => intruder.errors.includes('MESSAGE_DENIED'), 'another user may not create it');
      assert.equal(await server.stored(name), undefined);
      await setData(owner, name, { owner: 'olga', n: 1 });
      assert.deepEqual(await other.record.snapshot(name), { owner: 'olga', n: 1 });
      await assert.rejects(anonymous.record.snapshot(name), (error) => error === 'MESSAGE_DENIED', '"open" is not authenticated');
      await assert.rejects(setData(other, name, { owner: 'other' }), (error) => error === 'MESSAGE_DENIED');
      const mine = owner.record.getRecord(name);
      await mine.whenReady();
      await mine.setWithAck('n', 2);
      await mine.delete();
      assert.equal(await server.stored(name), undefined);
    });

    it('profile/$user: the patched record is checked, not just the patch', async () => {
      const [c, other] = await Promise.all([client(server.url, 'writer'), client(server.url, 'other')]);
      const record = c.record.getRecord(unique('profile/'));
      await record.whenReady();
      await record.setWithAck('name', 'Ada');
      await record.setWithAck('age', 36); // the patch has no name, the patched record has
      await assert.rejects(setData(other, record.name, 'name', 'A name far longer than twenty characters'), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(setData(other, record.name, 'name', 42), (error) => error === 'MESSAGE_DENIED');
      assert.deepEqual((await server.stored(record.name))?.data, { name: 'Ada', age: 36 });
      // Erasing a path is checked against the delete rule (upstream v10), here the "*" one: allowed.
      await record.setWithAck('name', undefined as never);
      assert.deepEqual((await server.stored(record.name))?.data, { age: 36 });
    });

    it('a rule that throws denies with MESSAGE_PERMISSION_ERROR and is logged once; a non-boolean result denies', async () => {
      const c = await client(server.url, 'tester');
      for (let i = 0; i < 3; i++) await assert.rejects(c.record.snapshot(`throws/${i}`), (error) => error === 'MESSAGE_PERMISSION_ERROR');
      await assert.rejects(c.record.snapshot('not-boolean/x'), (error) => error === 'MESSAGE_DENIED');
      const failures = server.logs.filter((line) => /permission rule failed/.test(line.msg) && String(line.rule).includes('throws/'));
      assert.equal(failures.length, 1);
      assert.match(String(failures[0]!.rule), /^permissions\.yml:\d+ record "throws\/\*" read$/);
    });
  });

  describe('presence', () => {
    it('allow: "user.id === \'B\'": only B may ask who is online', async () => {
      const [a, b] = await Promise.all([client(server.url, 'A'), client(server.url, 'B')]);
      assert.deepEqual(await b.presence.getAll(), ['A']);
      assert.deepEqual(await b.presence.getAll(['A', 'nobody']), { A: true, nobody: false });
      await assert.rejects(a.presence.getAll(), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(a.presence.getAll(['B']), (error) => error === 'MESSAGE_DENIED');
    });
  });

  describe('rpc', () => {
    it('request: the arguments are checked (only-full-user-data)', async () => {
      const [provider, caller] = await Promise.all([client(server.url, 'provider'), client(server.url, 'caller')]);
      provider.rpc.provide('only-full-user-data', (data: { firstname: string }, response) => response.send(`hello ${data.firstname}`));
      const nodes = server.nodes ?? [server];
      await until(() => nodes.some((node) => node.kernel.service('rpc')!.stats.providedNames >= 1), 'the provider is registered');
      await Promise.all(nodes.map((node) => node.kernel.service('cluster')!.barrier())); // every node knows it
      assert.equal(await caller.rpc.make('only-full-user-data', { firstname: 'Ada', lastname: 'Lovelace' }), 'hello Ada');
      await assert.rejects(caller.rpc.make('only-full-user-data', { firstname: 'Ada' }), (error) => error === 'MESSAGE_DENIED');
      await assert.rejects(caller.rpc.make('only-full-user-data', undefined), (error) => error === 'MESSAGE_PERMISSION_ERROR', 'typeof undefined.firstname throws');
    });

    it('provide: only the backend user provides admin/*; nobody requests it', async () => {
      const [backend, other, caller] = await Promise.all([client(server.url, 'backend'), client(server.url, 'other'), client(server.url, 'caller')]);
      backend.rpc.provide('admin/reset', (_data, response) => response.send('done'));
      other.rpc.provide('admin/steal', (_data, response) => response.send('stolen'));
      await until(() => other.errors.includes('MESSAGE_DENIED'), 'the provide is denied');
      assert.deepEqual(backend.errors, []);
      await assert.rejects(caller.rpc.make('admin/reset', null), (error) => error === 'MESSAGE_DENIED');
    });
  });
});

describe('permissions inline in the options', { timeout: 20_000 }, () => {
  let server: ValveServer;
  before(async () => {
    server = await startValveServer({
      permissions: {
        record: { '*': { read: true, create: true, write: true } },
        event: { '*': { publish: 'user.id === "writer"', subscribe: true } },
        rpc: { '*': { request: false } },
        presence: { '*': { allow: true } },
      },
    });
  });
  after(async () => {
    closeClients();
    await server.stop();
  });

  it('apply as from a file', async () => {
    const [writer, reader, listener] = await Promise.all([client(server.url, 'writer'), client(server.url, 'reader'), client(server.url, 'listener')]);
    const received: unknown[] = [];
    listener.event.subscribe('news', (data: unknown) => received.push(data));
    await server.subscribed('news', 1);
    writer.event.emit('news', 1);
    reader.event.emit('news', 2);
    await until(() => received.length === 1 && reader.errors.length === 1, 'one delivery, one denial');
    await pause(50);
    assert.deepEqual(received, [1]);
    // No rule for provide in the rpc section: denied.
    reader.rpc.provide('anything', (_data, response) => response.send(null));
    await until(() => reader.errors.length === 2, 'the provide is denied');
  });
});
