import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../src/sqlite-storage.ts';
import { storageContract, versionOrderContract } from '../../../test/contracts/storage.ts';

function tempFile(): { file: string; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'ds-sqlite-'));
  return { file: join(dir, 'nested', 'records.sqlite'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

const sqlite = async () => {
  const { file, cleanup } = tempFile();
  return { store: new SqliteStorage({ file }), cleanup };
};
storageContract('sqlite', sqlite);
versionOrderContract('sqlite', sqlite);

describe('sqlite storage durability', () => {
  it('keeps records across close and reopen of the same file', async () => {
    const { file, cleanup } = tempFile();
    try {
      const first = new SqliteStorage({ file });
      await first.set('user/1', { version: 4, data: { name: 'Ada' } });
      await first.set('list/1', { version: 1, data: ['a'] });
      await first.delete('list/1');
      await first.close();
      const second = new SqliteStorage({ file });
      assert.deepEqual(await second.get('user/1'), { version: 4, data: { name: 'Ada' } });
      assert.equal(await second.get('list/1'), undefined);
      await second.close();
    } finally {
      await cleanup();
    }
  });

  it('coalesces a burst of writes to one record into the latest, and reads its own pending writes', async () => {
    const { file, cleanup } = tempFile();
    const storage = new SqliteStorage({ file });
    try {
      const writes = Array.from({ length: 1000 }, (_, i) => storage.set('hot', { version: i, data: { i } }));
      assert.deepEqual(await storage.get('hot'), { version: 999, data: { i: 999 } });
      await Promise.all(writes);
      assert.deepEqual(await storage.get('hot'), { version: 999, data: { i: 999 } });
    } finally {
      await storage.close();
      await cleanup();
    }
  });
});
