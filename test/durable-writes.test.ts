/**
 * "Acknowledged means stored" under group commit: SQLite commits every write of an event-loop
 * turn in one transaction. When that commit fails (here the database is full: SQLite's page limit
 * gives the same SQLITE_FULL as a full disk), exactly the writes in it are answered with
 * RECORD_UPDATE_ERROR, the server keeps serving, and every write acknowledged before is on disk.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { DeepstreamClient } from '@deepstream/client';
import { definePlugin } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import { SqliteStorage } from '@deepstream-ts/storage-sqlite';

const dir = mkdtempSync(join(tmpdir(), 'ds-durable-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The storage's own connection: a page limit set on it applies to its next commit. */
const databaseOf = (storage: SqliteStorage) => (storage as unknown as { db: Database.Database }).db;

describe('group-committed SQLite writes', () => {
  it('a failed commit fails the acknowledgements of its writes only, and loses no acknowledged write', async () => {
    const file = join(dir, 'records.sqlite');
    const storage = new SqliteStorage({ file });
    const provider = definePlugin({ name: 'test-sqlite', version: '1.0.0', kernel: '^0.1.0', provides: ['storage'], setup: (ctx) => ctx.provide('storage', storage) });
    const server = await startTestServer({ plugins: [authOpen, provider, records] });
    const writer = new DeepstreamClient(server.url);
    const bystander = new DeepstreamClient(server.url);
    try {
      await Promise.all([writer.login(), bystander.login()]);
      const names = Array.from({ length: 20 }, (_, i) => `durable/${i}`);
      // 20 records written in one burst: they share commits; every one is acknowledged.
      await Promise.all(names.map((name) => writer.record.setDataWithAck(name, { step: 1 })));

      // Full: no page beyond those in use. Large writes cannot fit, so their commit fails.
      const db = databaseOf(storage);
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const big = { step: 2, pad: 'x'.repeat(20_000) };
      const refused = await Promise.allSettled(names.map((name) => writer.record.setDataWithAck(name, big) as Promise<unknown>));
      for (const outcome of refused) {
        assert.equal(outcome.status, 'rejected');
        assert.match(String(outcome.reason), /RECORD_UPDATE_ERROR/);
      }

      // The server stays up for everyone; once there is room again, writes are acknowledged.
      db.pragma('max_page_count = 1073741823');
      await bystander.record.setDataWithAck('durable/other', { fine: true });
      await writer.record.setDataWithAck('durable/0', { step: 3 });
    } finally {
      writer.close();
      bystander.close();
      await server.stop();
    }

    // On disk: every acknowledged write; nothing of the refused ones but what a later write carried.
    const reopened = new SqliteStorage({ file });
    try {
      assert.deepEqual((await reopened.get('durable/0'))?.data, { step: 3 });
      for (let i = 1; i < 20; i++) assert.deepEqual((await reopened.get(`durable/${i}`))?.data, { step: 1 }, `durable/${i}`);
      assert.deepEqual((await reopened.get('durable/other'))?.data, { fine: true });
    } finally {
      await reopened.close();
    }
  });
});
