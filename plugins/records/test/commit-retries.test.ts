/**
 * A write that loses the cache's compare-and-set (another node's write won) is retried on top of
 * what won while it keeps losing, within `storageWriteTimeout` (RECORDS §5.3). One node with a
 * cache that plays the other nodes: for chosen names a rival commits a new version just before
 * each of ours, as a busy cluster does; raw protocol clients. Also: a burst of writes to one
 * record is committed as a few compare-and-sets, not one per write, and still reaches
 * subscribers one version at a time.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_ACTION, TOPIC, definePlugin, type Message, type RecordCache, type StoredRecord } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import { ControllableStorage, controllableStorage } from '../../../test/fixtures/storage.ts';

const R = RECORD_ACTION;
const WRITE_TIMEOUT = 300;
let counter = 0;
const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;

/** A cache where, for `rivals` names, another writer commits first, this many times (Infinity: always), a millisecond per call. */
class ContendedCache implements RecordCache {
  readonly description = 'contended';
  readonly capabilities = { durable: false, shared: true } as const;
  readonly records = new Map<string, StoredRecord>();
  readonly rivals = new Map<string, number>();
  rivalWins = 0;
  /** compareAndSet calls by name. */
  readonly casCalls = new Map<string, number>();

  private async tick(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    await this.tick();
    return this.records.get(name);
  }

  async head(name: string): Promise<number | undefined> {
    return (await this.get(name))?.version;
  }

  async headBulk(names: readonly string[]): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for (const name of names) {
      const record = this.records.get(name);
      if (record !== undefined) versions.set(name, record.version);
    }
    return versions;
  }

  async set(name: string, record: StoredRecord): Promise<void> {
    await this.tick();
    this.records.set(name, record);
  }

  async compareAndSet(name: string, record: StoredRecord, expectedVersion: number | undefined): Promise<boolean> {
    this.casCalls.set(name, (this.casCalls.get(name) ?? 0) + 1);
    await this.tick();
    const left = this.rivals.get(name) ?? 0;
    if (left > 0) {
      // The rival's write lands first, on top of whatever is there: ours now expects a stale version.
      this.rivals.set(name, left - 1);
      const current = this.records.get(name);
      this.records.set(name, { version: (current?.version ?? 0) + 1, data: { ...(current?.data ?? {}), rival: ++this.rivalWins } });
    }
    const current = this.records.get(name);
    if (current !== undefined && current.version !== expectedVersion) return false;
    this.records.set(name, record);
    return true;
  }

  async delete(name: string): Promise<void> {
    this.records.delete(name);
  }

  async deleteBulk(names: readonly string[]): Promise<void> {
    for (const name of names) this.records.delete(name);
  }

  async close(): Promise<void> {}
}

describe('writes that lose the compare-and-set to other writers', () => {
  let server: TestServer;
  const cache = new ContendedCache();
  const storage = new ControllableStorage();
  const clients: RawClient[] = [];
  const cachePlugin = definePlugin({ name: 'test-contended-cache', version: '1.0.0', kernel: '^0.1.0', provides: ['cache'], setup: (ctx) => ctx.provide('cache', cache) });

  async function login(): Promise<RawClient> {
    const c = await RawClient.login(server.url);
    clients.push(c);
    return c;
  }
  function write(c: RawClient, fields: Partial<Message>): Promise<Message> {
    c.send({ topic: TOPIC.RECORD, action: R.CREATEANDPATCH, version: -1, isWriteAck: true, ...fields } as Message);
    return c.next((m) => m.name === fields.name, 2000);
  }

  before(async () => {
    server = await startTestServer({ plugins: [authOpen, cachePlugin, controllableStorage(storage), records.with({ storageWriteTimeout: WRITE_TIMEOUT })] });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(() => server.stop());

  it('a -1 write that loses 20 times in a row still lands on top of every rival, and is acknowledged once stored', async () => {
    const c = await login();
    const name = unique('hot');
    cache.rivals.set(name, 20);
    const first = cache.rivalWins;
    const reply = await write(c, { name, path: 'mine', data: '1', correlationId: 'w' });
    assert.equal(reply.action, R.WRITE_ACKNOWLEDGEMENT, JSON.stringify(reply));
    assert.equal(cache.rivals.get(name), 0, 'every rival won once');
    // On top of the last rival's version, with its data: nothing the rivals wrote is lost.
    const landed = { version: 21, data: { rival: first + 20, mine: 1 } };
    assert.deepEqual(cache.records.get(name), landed);
    assert.deepEqual(storage.records.get(name), landed);
    assert.equal(server.warnings().filter((line) => line.msg.startsWith('record write given up')).length, 0);
  });

  /** Sends `count` acknowledged patches of `name` at once (path k<i>, value i); resolves with their replies, in order. */
  async function burst(c: RawClient, name: string, count: number): Promise<Message[]> {
    for (let i = 0; i < count; i++) c.send({ topic: TOPIC.RECORD, action: R.CREATEANDPATCH, name, version: -1, path: `k${i}`, data: String(i), isWriteAck: true, correlationId: `b${i}` } as Message);
    const replies: Message[] = [];
    for (let i = 0; i < count; i++) replies.push(await c.next((m) => m.name === name && m.correlationId === `b${i}`, 3000));
    return replies;
  }
  async function subscribe(c: RawClient, name: string): Promise<void> {
    c.send({ topic: TOPIC.RECORD, action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' } as Message);
    await c.next((m) => m.name === name && m.action === R.READ_RESPONSE);
  }
  const patchesOf = (c: RawClient, name: string) => c.received.filter((m) => m.name === name && m.action === R.PATCH);
  const burstData = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));

  it('a burst of writes to one record costs a few compare-and-sets, and each is still broadcast at its own version, in order', async () => {
    const [writer, reader] = [await login(), await login()];
    const name = unique('burst');
    await subscribe(reader, name);
    const calls = cache.casCalls.get(name) ?? 0; // the subscriber's creation of v0
    const replies = await burst(writer, name, 50);
    assert.deepEqual(replies.map((m) => m.action), replies.map(() => R.WRITE_ACKNOWLEDGEMENT));
    const landed = { version: 50, data: burstData(50) };
    assert.deepEqual(storage.records.get(name), landed, 'storage holds every write');
    assert.deepEqual(cache.records.get(name), landed);
    const commits = (cache.casCalls.get(name) ?? 0) - calls;
    assert.ok(commits <= 5, `${commits} compare-and-sets for 50 writes`);
    for (let waited = 0; waited < 2000 && patchesOf(reader, name).length < 50; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const seen = patchesOf(reader, name);
    assert.deepEqual(seen.map((m) => m.version), Array.from({ length: 50 }, (_, i) => i + 1), 'one PATCH per version, in order');
    assert.deepEqual(seen.map((m) => m.path), Array.from({ length: 50 }, (_, i) => `k${i}`));
  });

  it('a burst that loses to a rival is retried write by write, and every write lands on top of what won', async () => {
    const [writer, reader] = [await login(), await login()];
    const name = unique('contested-burst');
    await subscribe(reader, name);
    cache.rivals.set(name, 3);
    const first = cache.rivalWins;
    const replies = await burst(writer, name, 20);
    assert.deepEqual(replies.map((m) => m.action), replies.map(() => R.WRITE_ACKNOWLEDGEMENT));
    const landed = { version: 23, data: { rival: first + 3, ...burstData(20) } };
    assert.deepEqual(storage.records.get(name), landed);
    assert.deepEqual(cache.records.get(name), landed);
    for (let waited = 0; waited < 2000 && patchesOf(reader, name).length < 20; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const versions = patchesOf(reader, name).map((m) => m.version!);
    assert.equal(versions.length, 20);
    assert.ok(versions.every((v, i) => i === 0 || v > versions[i - 1]!), `versions in order: ${versions}`);
    assert.equal(versions.at(-1), 23);
  });

  it('gives up, logged, with RECORD_UPDATE_ERROR when rivals keep winning past storageWriteTimeout', async () => {
    const c = await login();
    const name = unique('endless');
    cache.rivals.set(name, Infinity);
    const started = Date.now();
    const reply = await write(c, { name, path: 'mine', data: '1', correlationId: 'w' });
    const took = Date.now() - started;
    assert.equal(reply.action, R.RECORD_UPDATE_ERROR, JSON.stringify(reply));
    assert.ok(took >= WRITE_TIMEOUT && took < WRITE_TIMEOUT + 1000, `gave up after ${took} ms`);
    assert.equal(storage.records.has(name), false, 'nothing of it stored');
    const logged = server.warnings().filter((line) => line.msg.startsWith('record write given up'));
    assert.equal(logged.length, 1);
    assert.equal((logged[0] as unknown as { record: string }).record, name);
    // The queue is not stuck: once the rivals stop, the next write lands.
    cache.rivals.set(name, 0);
    assert.equal((await write(c, { name, path: 'later', data: '2', correlationId: 'x' })).action, R.WRITE_ACKNOWLEDGEMENT);
  });
});
