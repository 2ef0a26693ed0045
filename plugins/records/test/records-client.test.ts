/**
 * Records and lists with the official client over real sockets.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import { ControllableStorage, controllableStorage } from '../../../test/fixtures/storage.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;

describe('records with the official client', () => {
  let server: TestServer;
  const storage = new ControllableStorage();
  const clients: DeepstreamClient[] = [];
  async function client(): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(server.url, { recordDiscardTimeout: 50 } as never);
    clients.push(c);
    await c.login();
    return c;
  }

  before(async () => {
    server = await startTestServer({ plugins: [authOpen, controllableStorage(storage), records] });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(() => server.stop());

  it('creates a record as {} at version 0 and syncs whole-record sets to other subscribers', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('user');
    const ra = a.record.getRecord(name);
    await ra.whenReady();
    assert.deepEqual(ra.get(), {});
    assert.equal(ra.version, 0);
    const rb = b.record.getRecord(name);
    await rb.whenReady();
    const seenByB: unknown[] = [];
    rb.subscribe((data: unknown) => seenByB.push(data));
    const seenByA: unknown[] = [];
    ra.subscribe((data: unknown) => seenByA.push(data));
    ra.set({ name: 'Ada', langs: ['en'] });
    await pause(150);
    assert.deepEqual(seenByB, [{ name: 'Ada', langs: ['en'] }]);
    assert.deepEqual(seenByA, [{ name: 'Ada', langs: ['en'] }], 'the writer sees its change once, locally, never echoed');
    assert.equal(rb.version, 1);
    assert.deepEqual(storage.records.get(name), { version: 1, data: { name: 'Ada', langs: ['en'] } });
  });

  it('syncs path sets and erases, and notifies path subscribers', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('doc');
    const ra = a.record.getRecord(name);
    const rb = b.record.getRecord(name);
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    const cityChanges: unknown[] = [];
    rb.subscribe('address.city', (city: unknown) => cityChanges.push(city));
    ra.set('address.city', 'Berlin');
    ra.set('tags[1]', 'b');
    await pause(100);
    ra.erase('address.city');
    await pause(150);
    assert.deepEqual(cityChanges, ['Berlin', undefined]);
    assert.deepEqual(rb.get(), { address: {}, tags: [null, 'b'] });
    assert.equal(rb.version, 3);
    assert.deepEqual(storage.records.get(name)?.data, { address: {}, tags: [null, 'b'] });
  });

  it('acknowledges writes once stored (setWithAck), and setData writes without subscribing', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('acked');
    const rb = b.record.getRecord(name);
    await rb.whenReady();
    const ra = a.record.getRecord(name);
    await ra.whenReady();
    await ra.setWithAck({ step: 1 });
    assert.deepEqual(storage.records.get(name), { version: 1, data: { step: 1 } });

    const c = await client();
    await c.record.setDataWithAck(name, { step: 2 });
    await c.record.setDataWithAck(name, 'extra', true as never);
    await pause(100);
    assert.deepEqual(rb.get(), { step: 2, extra: true });
    assert.equal(rb.version, 3);

    const fresh = unique('setdata');
    await c.record.setDataWithAck(fresh, 'deep.path', 42 as never);
    assert.deepEqual(await c.record.snapshot(fresh), { deep: { path: 42 } });
  });

  it('answers has, head and snapshot, and rejects a snapshot of a missing record', async () => {
    const a = await client();
    const name = unique('facts');
    assert.equal(await a.record.has(name), false);
    assert.equal(await a.record.head(name), -1);
    await assert.rejects(a.record.snapshot(name), (error) => String(error).includes('RECORD_NOT_FOUND'));
    await a.record.setDataWithAck(name, { x: 1 });
    await a.record.setDataWithAck(name, { x: 2 });
    assert.equal(await a.record.has(name), true);
    assert.equal(await a.record.head(name), 2);
    assert.deepEqual(await a.record.snapshot(name), { x: 2 });
  });

  it('deletes a record everywhere: other subscribers are told, storage forgets it, it can be recreated', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('doomed');
    const ra = a.record.getRecord(name);
    const rb = b.record.getRecord(name);
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    await ra.setWithAck({ alive: true });
    const deletedForB = new Promise<void>((resolve) => rb.on('delete', () => resolve()));
    await ra.delete();
    await deletedForB;
    assert.equal(storage.records.has(name), false);
    assert.equal(await b.record.has(name), false);
    const again = a.record.getRecord(name);
    await again.whenReady();
    assert.deepEqual([again.version, again.get()], [0, {}]);
  });

  it('stops sending updates to a client that discarded the record', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('discarded');
    const ra = a.record.getRecord(name);
    const rb = b.record.getRecord(name);
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    let updates = 0;
    rb.subscribe(() => updates++);
    // Summed over the nodes when the server is a cluster (DS_TEST_TOPOLOGY).
    const subscribers = () => (server.nodes ?? [server]).reduce((sum, node) => sum + node.kernel.service('records')!.subscriptions.subscribers(name).size, 0);
    assert.equal(subscribers(), 2);
    rb.discard();
    await pause(200); // recordDiscardTimeout is 50 ms in these clients
    assert.equal(subscribers(), 1, 'the server forgot the discarding client');
    await ra.setWithAck({ after: 'discard' });
    await pause(100);
    assert.equal(updates, 0);
    a.close();
    await pause(100);
    assert.equal(subscribers(), 0, 'a client that disconnects leaves no subscription behind');
  });

  it('re-reads records changed behind the server and tells subscribers (notify)', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('external');
    const rb = b.record.getRecord(name);
    await rb.whenReady();
    await b.record.setDataWithAck(name, { source: 'client' });
    await pause(50);
    storage.records.set(name, { version: 7, data: { source: 'batch job' } });
    await a.record.notify([name]);
    await pause(100);
    assert.deepEqual(rb.get(), { source: 'batch job' });
    assert.equal(rb.version, 7);
  });

  it('keeps lists in sync: add, remove and set entries', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const name = unique('list');
    const la = a.record.getList(name);
    const lb = b.record.getList(name);
    await Promise.all([la.whenReady(), lb.whenReady()]);
    la.addEntry('x');
    la.addEntry('y');
    la.addEntry('z', 0);
    await pause(100);
    assert.deepEqual(lb.getEntries(), ['z', 'x', 'y']);
    lb.removeEntry('x');
    await pause(100);
    assert.deepEqual(la.getEntries(), ['z', 'y']);
    la.setEntries(['only']);
    await pause(100);
    assert.deepEqual(lb.getEntries(), ['only']);
    assert.deepEqual(storage.records.get(name)?.data, ['only']);
  });

  it('follows an anonymous record as it is pointed at different records', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const [first, second] = [unique('anon'), unique('anon')];
    await a.record.setDataWithAck(first, { n: 1 });
    await a.record.setDataWithAck(second, { n: 2 });
    const anonymous = b.record.getAnonymousRecord();
    anonymous.setName(first);
    await anonymous.whenReady();
    assert.deepEqual(anonymous.get(), { n: 1 });
    anonymous.setName(second);
    await anonymous.whenReady();
    assert.deepEqual(anonymous.get(), { n: 2 });
    const changed = new Promise((resolve) => anonymous.subscribe('n', resolve));
    await a.record.setDataWithAck(second, 'n', 3 as never);
    assert.equal(await changed, 3);
  });

  it('lets many clients write one record concurrently without losing an acknowledged write', async () => {
    const writers = await Promise.all([client(), client(), client()]);
    const name = unique('contended');
    const acked: string[] = [];
    await Promise.all(
      writers.map((w, i) =>
        Promise.all(
          Array.from({ length: 30 }, async (_, j) => {
            await w.record.setDataWithAck(name, `w${i}_${j}`, j as never);
            acked.push(`w${i}_${j}`);
          }),
        ),
      ),
    );
    const final = (await writers[0]!.record.snapshot(name)) as Record<string, number>;
    assert.equal(acked.length, 90);
    for (const path of acked) assert.ok(path in final, `acknowledged write ${path} is missing`);
    assert.equal(await writers[0]!.record.head(name), 90);
  });
});
