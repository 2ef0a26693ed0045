/**
 * Records on the wire: exact reply shapes, version conflicts, ordering, and every bad input of
 * the records issue, with raw protocol clients.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import { ControllableStorage, controllableStorage } from '../../../test/fixtures/storage.ts';

let counter = 0;
const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;
const R = RECORD_ACTION;
const record = (fields: Partial<Message>): Message => ({ topic: TOPIC.RECORD, action: R.UPDATE, ...fields }) as Message;
/** Drops the empty repeated/map fields the decoder always adds, to compare what was on the wire. */
function wire(message: Message): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...message };
  for (const [key, value] of Object.entries(copy)) {
    if ((Array.isArray(value) && value.length === 0) || (key === 'versions' && Object.keys(value as object).length === 0)) delete copy[key];
  }
  return copy;
}

describe('records on the wire', () => {
  let server: TestServer;
  const storage = new ControllableStorage();
  const clients: RawClient[] = [];
  async function login(): Promise<RawClient> {
    const c = await RawClient.login(server.url);
    c.ws.on('error', () => undefined);
    clients.push(c);
    return c;
  }
  /** Subscribes (creating the record if needed) and returns its READ_RESPONSE. */
  async function subscribe(c: RawClient, name: string): Promise<Message> {
    c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' }));
    await c.next((m) => m.isAck === true && m.action === R.SUBSCRIBECREATEANDREAD);
    return c.next((m) => m.action === R.READ_RESPONSE && m.name === name);
  }
  /** Sends a write and waits for the first reply matching `match`. */
  function expectReply(c: RawClient, write: Partial<Message>, match: (m: Message) => boolean = () => true): Promise<Message> {
    c.send(record(write));
    return c.next(match);
  }

  before(async () => {
    server = await startTestServer({
      plugins: [authOpen, controllableStorage(storage), records.with({ storageRetrievalTimeout: 200, storageWriteTimeout: 300, storageExclusionPrefixes: ['cache-only/'], storageHotPathPrefixes: ['metrics/'] })],
    });
  });
  afterEach(() => {
    storage.mode = 'ok';
    storage.slowPrefix = undefined;
    for (const c of clients.splice(0)) c.close();
  });
  after(() => server.stop());

  describe('subscribing and reading', () => {
    it('acks a subscription with the request echoed, then sends READ_RESPONSE at version 0 for a new record', async () => {
      const c = await login();
      const name = unique('fresh');
      c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: '0' }));
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: '0', isAck: true });
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.READ_RESPONSE, name, version: 0, data: '{}' });
    });

    it('answers read-only subscriptions of a missing record with version -1 and does not create it', async () => {
      const c = await login();
      const name = unique('readonly');
      c.send(record({ action: R.SUBSCRIBEANDREAD, names: [name], correlationId: '1' }));
      await c.next((m) => m.isAck === true);
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.READ_RESPONSE, name, version: -1, data: '{}' });
      assert.equal(storage.records.has(name), false);
    });

    it('re-subscribes with SUBSCRIBEANDHEAD: bulk versions from the cache, HEAD_RESPONSE for the rest', async () => {
      const [c, other] = [await login(), await login()];
      const [cached, stored, missing] = [unique('h'), unique('h'), unique('h')];
      await subscribe(other, cached);
      storage.records.set(stored, { version: 4, data: {} });
      c.send(record({ action: R.SUBSCRIBEANDHEAD, names: [cached, stored, missing], correlationId: '2' }));
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.HEAD_RESPONSE_BULK, versions: { [cached]: 0 } });
      assert.deepEqual(wire(await c.next((m) => m.isAck === true)), { topic: TOPIC.RECORD, action: R.SUBSCRIBEANDHEAD, correlationId: '2', isAck: true });
      const heads = [await c.next(), await c.next()].map(wire).sort((a, b) => String(a.name).localeCompare(String(b.name)));
      assert.deepEqual(heads, [
        { topic: TOPIC.RECORD, action: R.HEAD_RESPONSE, name: stored, version: 4 },
        { topic: TOPIC.RECORD, action: R.HEAD_RESPONSE, name: missing, version: -1 },
      ].sort((a, b) => a.name.localeCompare(b.name)));
    });

    it('reports MULTIPLE_SUBSCRIPTIONS for a second subscription and acks UNSUBSCRIBE with its correlationId', async () => {
      const c = await login();
      const name = unique('twice');
      await subscribe(c, name);
      c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: '3' }));
      await c.next((m) => m.isAck === true);
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.MULTIPLE_SUBSCRIPTIONS, name, originalAction: R.SUBSCRIBE });
      c.send(record({ action: R.UNSUBSCRIBE, names: [name], correlationId: name }));
      await c.next((m) => m.action === R.READ_RESPONSE);
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.UNSUBSCRIBE, correlationId: name, isAck: true });
    });
  });

  describe('writes and versions', () => {
    it('broadcasts UPDATE and PATCH with the new version to others, never back to the writer', async () => {
      const [writer, reader] = [await login(), await login()];
      const name = unique('bcast');
      await subscribe(writer, name);
      await subscribe(reader, name);
      writer.send(record({ action: R.UPDATE, name, version: 1, data: '{"a":1}' }));
      writer.send(record({ action: R.PATCH, name, version: 2, path: 'b.c', data: '"x"' }));
      writer.send(record({ action: R.ERASE, name, version: 3, path: 'a' }));
      assert.deepEqual(wire(await reader.next()), { topic: TOPIC.RECORD, action: R.UPDATE, name, version: 1, data: '{"a":1}', isWriteAck: false });
      assert.deepEqual(wire(await reader.next()), { topic: TOPIC.RECORD, action: R.PATCH, name, version: 2, path: 'b.c', data: '"x"', isWriteAck: false });
      assert.deepEqual(wire(await reader.next()), { topic: TOPIC.RECORD, action: R.PATCH, name, version: 3, path: 'a', isWriteAck: false });
      assert.ok(await writer.nothingWithin(150), 'no echo to the writer');
      assert.deepEqual(storage.records.get(name), { version: 3, data: { b: { c: 'x' } } });
    });

    it('answers a stale version with VERSION_EXISTS carrying the current data, and a too-new one with INVALID_VERSION', async () => {
      const c = await login();
      const name = unique('conflict');
      await subscribe(c, name);
      c.send(record({ action: R.UPDATE, name, version: 1, data: '{"v":1}' }));
      const stale = await expectReply(c, { action: R.UPDATE, name, version: 1, data: '{"v":"stale"}', isWriteAck: true, correlationId: '9' });
      assert.deepEqual(wire(stale), { topic: TOPIC.RECORD, action: R.VERSION_EXISTS, name, version: 1, data: '{"v":1}', originalAction: R.UPDATE, correlationId: '9', isWriteAck: true });
      const tooNew = await expectReply(c, { action: R.UPDATE, name, version: 5, data: '{"v":5}' });
      assert.equal(tooNew.action, R.INVALID_VERSION);
      assert.equal(tooNew.originalAction, R.UPDATE);
      // Then the current state, so that a client ahead of the server adopts the real version.
      const current = await c.next((m) => m.action === R.VERSION_EXISTS);
      assert.deepEqual(wire(current), { topic: TOPIC.RECORD, action: R.VERSION_EXISTS, name, version: 1, data: '{"v":1}', originalAction: R.UPDATE });
      // With a write ack it is an error: the official client reads a write-ack reply without isError as success.
      const tooNewAcked = await expectReply(c, { action: R.UPDATE, name, version: 7, data: '{"v":7}', isWriteAck: true, correlationId: '8' });
      assert.equal(tooNewAcked.action, R.INVALID_VERSION);
      assert.equal(tooNewAcked.isError, true);
      assert.equal(tooNewAcked.correlationId, '8');
      await c.next((m) => m.action === R.VERSION_EXISTS);
      // The queue is not stuck afterwards (the reference defect): the next valid and -1 writes land.
      const ack = await expectReply(c, { action: R.UPDATE, name, version: 2, data: '{"v":2}', isWriteAck: true, correlationId: '10' });
      assert.deepEqual(wire(ack), { topic: TOPIC.RECORD, action: R.WRITE_ACKNOWLEDGEMENT, name, correlationId: '10', isWriteAck: true });
      const appended = await expectReply(c, { action: R.CREATEANDUPDATE, name, version: -1, data: '{"v":3}', isWriteAck: true, correlationId: '11' });
      assert.equal(appended.action, R.WRITE_ACKNOWLEDGEMENT);
      assert.deepEqual(storage.records.get(name), { version: 3, data: { v: 3 } });
    });

    it('applies concurrent setData writes of many clients in order, acknowledging every one exactly once', async () => {
      const writers = await Promise.all([login(), login(), login()]);
      const name = unique('ordered');
      const perWriter = 100;
      for (const [w, c] of writers.entries()) {
        for (let j = 0; j < perWriter; j++) c.send(record({ action: R.CREATEANDPATCH, name, version: -1, path: `w${w}.n${j}`, data: String(j), isWriteAck: true, correlationId: String(j) }));
      }
      for (const c of writers) {
        const acks = await Promise.all(Array.from({ length: perWriter }, () => c.next((m) => m.action === R.WRITE_ACKNOWLEDGEMENT, 5000)));
        assert.deepEqual(acks.map((a) => a.correlationId).sort(), Array.from({ length: perWriter }, (_, j) => String(j)).sort());
      }
      const stored = storage.records.get(name)!;
      assert.equal(stored.version, writers.length * perWriter);
      for (const w of writers.keys()) assert.equal(Object.keys((stored.data as Record<string, object>)[`w${w}`]!).length, perWriter);
    });

    it('keeps different records independent: a slow storage for one does not hold up another', async () => {
      const c = await login();
      storage.slowPrefix = 'slow/';
      storage.slowMs = 150;
      const [slow, fast] = [unique('slow'), unique('fast')];
      c.send(record({ action: R.CREATEANDUPDATE, name: slow, version: -1, data: '{}', isWriteAck: true, correlationId: 'slow' }));
      c.send(record({ action: R.CREATEANDUPDATE, name: fast, version: -1, data: '{}', isWriteAck: true, correlationId: 'fast' }));
      assert.equal((await c.next()).correlationId, 'fast');
      assert.equal((await c.next()).correlationId, 'slow');
    });

    it('refuses a plain update of a missing (or deleted) record, but an acknowledged one creates it', async () => {
      const c = await login();
      const name = unique('missing');
      assert.deepEqual(wire(await expectReply(c, { action: R.UPDATE, name, version: 1, data: '{}' })), { topic: TOPIC.RECORD, action: R.RECORD_UPDATE_ERROR, name, isError: true });
      assert.equal((await expectReply(c, { action: R.UPDATE, name, version: 1, data: '{"a":1}', isWriteAck: true, correlationId: 'c' })).action, R.WRITE_ACKNOWLEDGEMENT);
      c.send(record({ action: R.DELETE, name }));
      assert.deepEqual(wire(await c.next()), { topic: TOPIC.RECORD, action: R.DELETE_SUCCESS, name });
      assert.equal(storage.records.has(name), false);
      assert.equal((await expectReply(c, { action: R.PATCH, name, version: 2, path: 'x', data: '1' })).action, R.RECORD_UPDATE_ERROR);
    });

    it('tells other subscribers DELETED and forgets every subscription of the record', async () => {
      const [deleter, other] = [await login(), await login()];
      const name = unique('del');
      await subscribe(deleter, name);
      await subscribe(other, name);
      deleter.send(record({ action: R.DELETE, name }));
      assert.equal((await deleter.next()).action, R.DELETE_SUCCESS);
      assert.deepEqual(wire(await other.next()), { topic: TOPIC.RECORD, action: R.DELETED, name });
      assert.equal(server.kernel.service('records')!.subscriptions.subscribers(name).size, 0);
    });

    it('keeps excluded names out of storage and writes hot-path names without versions', async () => {
      const [c, reader] = [await login(), await login()];
      const cacheOnly = unique('cache-only');
      assert.equal((await expectReply(c, { action: R.CREATEANDUPDATE, name: cacheOnly, version: -1, data: '{"a":1}', isWriteAck: true, correlationId: 'x' })).action, R.WRITE_ACKNOWLEDGEMENT);
      assert.equal(storage.records.has(cacheOnly), false);
      c.send(record({ action: R.READ, name: cacheOnly }));
      assert.equal((await c.next()).data, '{"a":1}');

      const hot = unique('metrics');
      await subscribe(reader, hot);
      const ack = await expectReply(c, { action: R.CREATEANDUPDATE, name: hot, version: -1, data: '{"cpu":0.5}', isWriteAck: true, correlationId: 'h' });
      assert.deepEqual(wire(ack), { topic: TOPIC.RECORD, action: R.WRITE_ACKNOWLEDGEMENT, name: hot, correlationId: 'h', isWriteAck: true });
      assert.deepEqual(wire(await reader.next()), { topic: TOPIC.RECORD, action: R.UPDATE, name: hot, version: 0, data: '{"cpu":0.5}', isWriteAck: false });
      assert.deepEqual(storage.records.get(hot), { version: 0, data: { cpu: 0.5 } });
      const patch = await expectReply(c, { action: R.CREATEANDPATCH, name: hot, version: -1, path: 'x', data: '1' });
      assert.equal(patch.action, R.INVALID_PATCH_ON_HOTPATH);
    });
  });

  describe('bad input', () => {
    /** The record must be exactly as before the bad write, and the server must still serve. */
    async function unchanged(c: RawClient, name: string, version: number, data: string): Promise<void> {
      c.send(record({ action: R.READ, name }));
      const read = await c.next((m) => m.action === R.READ_RESPONSE && m.name === name);
      assert.deepEqual([read.version, read.data], [version, data]);
    }
    async function seeded(c: RawClient): Promise<string> {
      const name = unique('bad');
      await expectReply(c, { action: R.CREATEANDUPDATE, name, version: -1, data: '{"keep":true}', isWriteAck: true, correlationId: 'seed' });
      return name;
    }

    it('invalid JSON data: INVALID_MESSAGE_DATA with name, originalAction and the reason; the data is not echoed', async () => {
      const c = await login();
      const name = await seeded(c);
      const reply = await expectReply(c, { action: R.UPDATE, name, version: 2, data: '{not json' });
      assert.deepEqual(wire(reply), { topic: TOPIC.RECORD, action: R.INVALID_MESSAGE_DATA, name, originalAction: R.UPDATE, isError: true, data: '"data is not valid JSON"' });
      await unchanged(c, name, 1, '{"keep":true}');
    });

    it('data nested deeper than maxDataDepth, hot path included: INVALID_MESSAGE_DATA naming the limit', async () => {
      const c = await login();
      const deep = '['.repeat(5_000) + ']'.repeat(5_000);
      for (const write of [{ action: R.CREATEANDUPDATE, name: unique('metrics'), version: -1, data: deep }, { action: R.CREATEANDUPDATE, name: unique('deep'), version: -1, data: deep }]) {
        const reply = await expectReply(c, write);
        assert.equal(reply.action, R.INVALID_MESSAGE_DATA);
        assert.match(JSON.parse(reply.data!), /maxDataDepth \(100\)/);
      }
    });

    it('record data that is not an object or array: INVALID_MESSAGE_DATA', async () => {
      const c = await login();
      const name = await seeded(c);
      for (const data of ['5', '"text"', 'null']) {
        assert.equal((await expectReply(c, { action: R.UPDATE, name, version: 2, data })).action, R.INVALID_MESSAGE_DATA);
      }
      await unchanged(c, name, 1, '{"keep":true}');
    });

    it('a path into a scalar replaces it, on the server as in the client (RECORDS §10)', async () => {
      const c = await login();
      const name = await seeded(c);
      assert.equal((await expectReply(c, { action: R.PATCH, name, version: 2, path: 'keep.deeper', data: '1', isWriteAck: true, correlationId: 'p' })).action, R.WRITE_ACKNOWLEDGEMENT);
      await unchanged(c, name, 2, '{"keep":{"deeper":1}}');
    });

    it('absurd paths (prototype segments, huge indexes, non-numeric indexes, empty, overlong): INVALID_MESSAGE_DATA', async () => {
      const c = await login();
      const name = await seeded(c);
      for (const path of ['__proto__.polluted', 'a.constructor.prototype.x', 'list[999999999]', 'list[x]', ' . ', 'p'.repeat(5000)]) {
        const reply = await expectReply(c, { action: R.PATCH, name, version: 2, path, data: '1' });
        assert.equal(reply.action, R.INVALID_MESSAGE_DATA, path.slice(0, 30));
        assert.equal(reply.isError, true);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      await unchanged(c, name, 1, '{"keep":true}');
    });

    it('a write without a version, or below -1: refused', async () => {
      const c = await login();
      const name = await seeded(c);
      assert.equal((await expectReply(c, { action: R.UPDATE, name, data: '{}' })).action, R.INVALID_MESSAGE_DATA);
      assert.equal((await expectReply(c, { action: R.UPDATE, name, version: -7, data: '{}' })).action, R.INVALID_VERSION);
      await unchanged(c, name, 1, '{"keep":true}');
    });

    it('an empty or overlong record name: INVALID_MESSAGE_DATA, for single and bulk messages', async () => {
      const c = await login();
      assert.equal((await expectReply(c, { action: R.UPDATE, name: '', version: 1, data: '{}' })).action, R.INVALID_MESSAGE_DATA);
      assert.equal((await expectReply(c, { action: R.READ, name: 'n'.repeat(2000) })).action, R.INVALID_MESSAGE_DATA);
      const good = unique('good');
      c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: ['', good], correlationId: 'b' }));
      assert.equal((await c.next()).action, R.INVALID_MESSAGE_DATA);
      await c.next((m) => m.isAck === true);
      assert.equal((await c.next()).name, good);
    });

    it('storage that throws: the write-ack says RECORD_UPDATE_ERROR, reads say RECORD_LOAD_ERROR, the server stays up', async () => {
      const c = await login();
      const name = unique('broken');
      storage.mode = 'throw';
      const write = await expectReply(c, { action: R.CREATEANDUPDATE, name, version: -1, data: '{"a":1}', isWriteAck: true, correlationId: 'w' });
      assert.deepEqual(wire(write), { topic: TOPIC.RECORD, action: R.RECORD_UPDATE_ERROR, name, isError: true, isWriteAck: true, correlationId: 'w' });
      const read = await expectReply(c, { action: R.READ, name: unique('never-cached') });
      assert.equal(read.action, R.RECORD_LOAD_ERROR);
      assert.equal(read.originalAction, R.READ);
      storage.mode = 'ok';
      assert.equal((await expectReply(c, { action: R.CREATEANDUPDATE, name: unique('after'), version: -1, data: '{}', isWriteAck: true, correlationId: 'ok' })).action, R.WRITE_ACKNOWLEDGEMENT);
    });

    it('storage that hangs: reads time out with STORAGE_RETRIEVAL_TIMEOUT, writes are not acknowledged as stored', async () => {
      const c = await login();
      storage.mode = 'hang';
      const read = await expectReply(c, { action: R.HEAD, name: unique('hung') });
      assert.deepEqual([read.action, read.originalAction, read.isError], [R.STORAGE_RETRIEVAL_TIMEOUT, R.HEAD, true]);
      const write = await expectReply(c, { action: R.CREATEANDUPDATE, name: unique('hung'), version: -1, data: '{}', isWriteAck: true, correlationId: 'h' });
      assert.equal(write.action, R.RECORD_UPDATE_ERROR);
      assert.equal(write.correlationId, 'h');
    });

    it('an unknown record action is ignored with a warning, and the connection keeps working', async () => {
      const c = await login();
      const before = server.warnings().length;
      c.send(record({ action: R.SUBSCRIBECREATEANDUPDATE, names: ['x'] }));
      assert.ok(await c.nothingWithin(100));
      assert.equal(server.warnings().length, before + 1);
      await subscribe(c, unique('still-fine'));
    });
  });
});
