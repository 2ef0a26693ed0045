import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ConnectorError, redactUrl } from '@deepstream-ts/core';
import { PostgresStorage } from '../src/postgres-storage.ts';
import { storageContract, versionOrderContract } from '../../../test/contracts/storage.ts';
import { isSkip, startPostgres, type PostgresServer } from '../../../test/services/real-servers.ts';

const server = await startPostgres();
const skip = isSkip(server) ? server.skip : false;
const pgServer = server as PostgresServer;
const options = (overrides = {}) => ({ url: pgServer.url, table: `contract_${process.pid}`, tablePerPrefix: false, poolSize: 4, writeAttempts: 2, ...overrides });

describe('postgres storage', { skip }, () => {
  after(() => pgServer.stop());

  storageContract('postgres', async () => {
    const store = new PostgresStorage(options());
    await store.connect();
    return { store };
  });

  versionOrderContract('postgres', async () => {
    const store = new PostgresStorage(options({ table: `order_${process.pid}` }));
    await store.connect();
    return { store };
  });

  storageContract('postgres, one table per prefix', async () => {
    const store = new PostgresStorage(options({ table: `prefixed_${process.pid}`, tablePerPrefix: true }));
    await store.connect();
    return { store };
  });

  describe('behaviour beyond the contract', () => {
    let store: PostgresStorage;
    before(async () => {
      store = new PostgresStorage(options({ table: `extra_${process.pid}` }));
      await store.connect();
    });
    after(() => store.close());

    it('coalesces a burst to one record into few round trips, the latest version landing', async () => {
      const queries: string[] = [];
      const pool = (store as unknown as { pool: { on(e: string, f: (c: { query: Function }) => void): void } }).pool;
      pool.on('acquire', () => queries.push('acquire'));
      const writes = Array.from({ length: 500 }, (_, i) => store.set('hot/one', { version: i, data: { i } }));
      await Promise.all(writes);
      assert.deepEqual(await store.get('hot/one'), { version: 499, data: { i: 499 } });
      assert.ok(queries.length <= 3, `500 writes took ${queries.length} transactions`);
    });

    it('stores JSONB that PostgreSQL itself can query', async () => {
      await store.set('doc/1', { version: 2, data: { city: 'Berlin', tags: ['a'] } });
      const pool = (store as unknown as { pool: { query(q: string): Promise<{ rows: Array<{ city: string }> }> } }).pool;
      const { rows } = await pool.query(`SELECT data->>'city' AS city FROM "extra_${process.pid}" WHERE name = 'doc/1'`);
      assert.equal(rows[0]?.city, 'Berlin');
    });
  });

  describe('connection failures', () => {
    it('refuses to start with a message naming the URL without its password', async () => {
      const store = new PostgresStorage(options({ url: `postgres://app:s3cret@127.0.0.1:1/nowhere` }));
      await assert.rejects(store.connect(), (error: Error) => {
        assert.ok(error instanceof ConnectorError);
        assert.match(error.message, /postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/nowhere/);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      });
      await store.close();
      assert.equal(redactUrl('postgres://u:p@h/db'), 'postgres://u:***@h/db');
    });

    it('a batch whose connection is killed mid-commit fails its writes only; acknowledged ones are kept', async () => {
      const table = `killed_${process.pid}`;
      const store = new PostgresStorage(options({ table, writeAttempts: 1 }));
      await store.connect();
      const other = new pg.Client({ connectionString: pgServer.url });
      await other.connect();
      try {
        await Promise.all([store.set('k/1', { version: 1, data: { kept: 1 } }), store.set('k/2', { version: 1, data: { kept: 2 } })]);
        // Hold the table so that the next batch's statement waits inside PostgreSQL, then kill
        // the backend running it: the batch dies between sending and committing.
        await other.query('BEGIN');
        await other.query(`LOCK TABLE "${table}" IN EXCLUSIVE MODE`);
        const doomed = Promise.allSettled([store.set('k/1', { version: 2, data: { lost: 1 } }), store.set('k/3', { version: 1, data: { lost: 3 } })]);
        let killed = 0;
        for (let i = 0; i < 100 && killed === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const { rows } = await other.query("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
          killed = rows.length;
        }
        assert.equal(killed, 1, 'the batch was seen waiting');
        for (const write of await doomed) {
          assert.equal(write.status, 'rejected');
          assert.ok((write as PromiseRejectedResult).reason instanceof ConnectorError);
        }
        await other.query('COMMIT');
        // Nothing of the killed batch landed; what was acknowledged before is there; writing works.
        const { rows } = await other.query(`SELECT name, version, data FROM "${table}" ORDER BY name`);
        assert.deepEqual(rows, [
          { name: 'k/1', version: 1, data: { kept: 1 } },
          { name: 'k/2', version: 1, data: { kept: 2 } },
        ]);
        await store.set('k/3', { version: 1, data: { again: 3 } });
        assert.deepEqual(await store.get('k/3'), { version: 1, data: { again: 3 } });
      } finally {
        await other.end();
        await store.close();
      }
    });

    it('turns an outage into errors, then recovers without a restart', async () => {
      const store = new PostgresStorage(options({ table: `outage_${process.pid}` }));
      await store.connect();
      await store.set('o/1', { version: 1, data: {} });
      pgServer.kill();
      await assert.rejects(store.set('o/1', { version: 2, data: {} }), (error) => error instanceof ConnectorError);
      await assert.rejects(store.get('o/2'), (error) => error instanceof ConnectorError);
      assert.ok(store.lastError !== undefined);
      await pgServer.restart();
      let recovered = false;
      for (let i = 0; i < 50 && !recovered; i++) {
        try {
          await store.set('o/1', { version: 3, data: { back: true } });
          recovered = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.ok(recovered, 'writes work again once PostgreSQL is back');
      assert.deepEqual(await store.get('o/1'), { version: 3, data: { back: true } });
      assert.equal(store.lastError, undefined);
      await store.close();
    });
  });
});
