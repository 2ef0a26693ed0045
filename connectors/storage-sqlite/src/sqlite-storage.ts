import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConnectorError, PendingWrites, type PendingState, type RecordStorage, type StoredRecord } from '@deepstream-ts/core';
import type { SqliteStorageOptions } from './options.ts';

interface Row {
  version: number;
  data: string;
}

/**
 * Records in one SQLite table (`name` → version + JSON). Writes are coalesced per event-loop turn:
 * every set/delete of the turn lands in one transaction, the latest per record wins, and each
 * caller's promise resolves only after the commit — so an acknowledged write is on disk.
 */
export class SqliteStorage implements RecordStorage {
  readonly capabilities = { durable: true, shared: false } as const;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly select: Database.Statement<[string], Row>;
  private readonly upsert: Database.Statement<[string, number, string, number]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly pending = new PendingWrites();
  private flushScheduled = false;

  constructor({ file }: SqliteStorageOptions) {
    this.description = `sqlite:${file}`;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS records (
      name TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      data TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    this.select = this.db.prepare('SELECT version, data FROM records WHERE name = ?');
    this.upsert = this.db.prepare(
      'INSERT INTO records (name, version, data, updated_at) VALUES (?, ?, ?, ?) ' +
        // Writers on different nodes may land out of order: an older version never replaces a newer one.
        'ON CONFLICT(name) DO UPDATE SET version = excluded.version, data = excluded.data, updated_at = excluded.updated_at WHERE excluded.version >= records.version',
    );
    this.remove = this.db.prepare('DELETE FROM records WHERE name = ?');
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    // A write not yet committed is the newest state: read your own writes.
    const pending = this.pending.latest(name);
    if (pending !== undefined) return pending ?? undefined;
    const row = this.run('get', name, () => this.select.get(name));
    return row === undefined ? undefined : { version: row.version, data: JSON.parse(row.data) as StoredRecord['data'] };
  }

  set(name: string, record: StoredRecord): Promise<void> {
    return this.enqueue(name, record);
  }

  delete(name: string): Promise<void> {
    return this.enqueue(name, null);
  }

  async deleteBulk(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.enqueue(name, null)));
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }

  private enqueue(name: string, state: PendingState): Promise<void> {
    if (!this.db.open) return Promise.reject(new ConnectorError('unavailable', `${this.description} write "${name}"`, 'the database is closed'));
    const written = this.pending.add(name, state);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return written;
  }

  private readonly writeBatch = (entries: ReadonlyMap<string, PendingState>): void => {
    const now = Date.now();
    for (const [name, state] of entries) {
      if (state === null) this.remove.run(name);
      else this.upsert.run(name, state.version, JSON.stringify(state.data), now);
    }
  };

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.size === 0) return;
    const batch = this.pending.take();
    try {
      this.db.transaction(this.writeBatch)(batch.entries);
    } catch (error) {
      return batch.reject(new ConnectorError('failed', `${this.description} write`, error instanceof Error ? error.message : String(error), { cause: error }));
    }
    batch.resolve();
  }

  private run<T>(operation: string, name: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      throw new ConnectorError('failed', `${this.description} ${operation} "${name}"`, error instanceof Error ? error.message : String(error), { cause: error });
    }
  }
}
