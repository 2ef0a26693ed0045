/**
 * A write that loses the cache's compare-and-set (another node's write won) is retried on top of
 * what won while it keeps losing, within `storageWriteTimeout` (RECORDS §5.3). One node with a
 * cache that plays the other nodes: for chosen names a rival commits a new version just before
 * each of ours, as a busy cluster does; raw protocol clients.
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
