/**
 * The server on real PostgreSQL storage and a real Redis cache, driven by the official client:
 * records survive a server restart; a Redis outage turns into client errors, then recovers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import storagePostgres from '@deepstream-ts/storage-postgres';
import cacheRedis from '@deepstream-ts/cache-redis';
import { isSkip, startPostgres, startRedis, type PostgresServer, type RedisServer } from './services/real-servers.ts';

const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
const skip = isSkip(postgres) ? postgres.skip : isSkip(redis) ? redis.skip : false;

describe('records on PostgreSQL + Redis', { skip }, () => {
  const pg = postgres as PostgresServer;
  const cache = redis as RedisServer;
  const config = () => ({
    plugins: [
      authOpen,
      storagePostgres.with({ url: pg.url, table: 'e2e_records' }),
      cacheRedis.with({ url: cache.url, keyPrefix: 'e2e:' }),
      records.with({ cacheRetrievalTimeout: 500, storageRetrievalTimeout: 1000, storageWriteTimeout: 1500 }),
    ],
  });
  let server: TestServer | undefined;
  const clients: DeepstreamClient[] = [];
  async function client(url: string): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(url);
    clients.push(c);
    await c.login();
    return c;
  }
  before(async () => {
    server = await startTestServer(config());
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
    await Promise.all([pg.stop(), cache.stop()]);
  });

  it('keeps records across a server restart, with their versions', async () => {
    const writer = await client(server!.url);
    const doc = writer.record.getRecord('e2e/profile');
    await doc.whenReady();
    await doc.setWithAck({ name: 'Grace' });
    await doc.setWithAck('langs', ['en', 'cobol'] as never);
    await writer.record.setDataWithAck('e2e/settings', { theme: 'light' });
    await server!.stop();

    server = await startTestServer(config());
    const reader = await client(server.url);
    assert.deepEqual(await reader.record.snapshot('e2e/profile'), { name: 'Grace', langs: ['en', 'cobol'] });
    assert.equal(await reader.record.head('e2e/profile'), 2);
    assert.deepEqual(await reader.record.snapshot('e2e/settings'), { theme: 'light' });
  });

  it('turns a Redis outage into client errors, and recovers when Redis is back', async () => {
    const c = await client(server!.url);
    await c.record.setDataWithAck('e2e/outage', { before: true });
    cache.kill();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assert.rejects(c.record.setDataWithAck('e2e/outage', { during: true }) as Promise<unknown>, (error: unknown) => String(error).includes('RECORD_UPDATE_ERROR'));
    await assert.rejects(c.record.snapshot('e2e/never-cached'), (error) => /RECORD_LOAD_ERROR|TIMEOUT/.test(String(error)));
    await cache.restart();
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      try {
        await c.record.setDataWithAck('e2e/outage', { after: true });
        recovered = true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.ok(recovered, 'writes succeed again without a server restart');
    assert.deepEqual(await c.record.snapshot('e2e/outage'), { after: true });
  });

  it('survives Redis dying under a burst of writes, five times; every acknowledged write is kept', async () => {
    const c = await client(server!.url);
    for (let trial = 0; trial < 5; trial++) {
      type Outcome = { name: string; i: number; acked: boolean };
      const pending: Array<Promise<Outcome>> = [];
      let failed = false;
      const wave = (count: number) => {
        for (let k = 0; k < count; k++) {
          const i = pending.length;
          const name = `e2e/burst-${trial}-${i % 20}`;
          pending.push(
            (c.record.setDataWithAck(name, { trial, i }) as Promise<unknown>).then(
              () => ({ name, i, acked: true }),
              () => ((failed = true), { name, i, acked: false }),
            ),
          );
        }
      };
      // Some writes are acknowledged first; then Redis dies while the next ones are in flight,
      // and writing goes on until the outage shows.
      wave(20);
      await Promise.all(pending);
      wave(20 + trial * 20);
      cache.kill();
      for (let n = 0; n < 200 && !failed; n++) {
        wave(5);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const outcomes = await Promise.all(pending);
      const acked = outcomes.filter((o) => o.acked).length;
      assert.ok(acked > 0 && acked < outcomes.length, `trial ${trial}: the outage fell amid the writes (${acked} of ${outcomes.length} acknowledged)`);
      await cache.restart();
      // The newest acknowledged write of each record is what storage must hold.
      const newest = new Map<string, number>();
      for (const { name, i, acked } of outcomes) if (acked) newest.set(name, Math.max(newest.get(name) ?? -1, i));
      for (const [name, i] of newest) {
        let data: unknown;
        for (let attempt = 0; attempt < 50; attempt++) {
          try {
            data = await c.record.snapshot(name);
            break;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        assert.ok((data as { i: number }).i >= i, `trial ${trial}: ${name} holds ${JSON.stringify(data)}, acknowledged ${i}`);
      }
    }
    const unhandled = server!.logs.filter((line) => String(line.msg).includes('DS_UNHANDLED_ERROR'));
    assert.deepEqual(unhandled, [], 'no error escaped the records plugin');
  });
});
