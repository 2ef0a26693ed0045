import { ConnectorError, type RecordCache, type StoredRecord } from '@deepstream-ts/core';
import type { MemoryCacheOptions } from './options.ts';

interface Entry {
  record: StoredRecord;
  bytes: number;
}

/**
 * A bounded LRU cache in the server process. A Map keeps insertion order, so re-inserting on
 * every hit makes its first key the least recently used one.
 */
export class MemoryCache implements RecordCache {
  readonly description = 'memory';
  readonly capabilities = { durable: false, shared: false } as const;
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private closed = false;

  constructor(private readonly options: MemoryCacheOptions) {}

  get size(): { records: number; bytes: number } {
    return { records: this.entries.size, bytes: this.bytes };
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    this.assertOpen('get');
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry.record;
  }

  async head(name: string): Promise<number | undefined> {
    this.assertOpen('head');
    return this.entries.get(name)?.record.version;
  }

  async headBulk(names: readonly string[]): Promise<Map<string, number>> {
    this.assertOpen('headBulk');
    const versions = new Map<string, number>();
    for (const name of names) {
      const entry = this.entries.get(name);
      if (entry !== undefined) versions.set(name, entry.record.version);
    }
    return versions;
  }

  async set(name: string, record: StoredRecord): Promise<void> {
    this.assertOpen('set');
    this.remove(name);
    const entry = { record, bytes: name.length + JSON.stringify(record.data).length };
    this.entries.set(name, entry);
    this.bytes += entry.bytes;
    this.evict();
  }

  async compareAndSet(name: string, record: StoredRecord, expectedVersion: number | undefined): Promise<boolean> {
    this.assertOpen('compareAndSet');
    const current = this.entries.get(name);
    if (current !== undefined && current.record.version !== expectedVersion) return false;
    await this.set(name, record);
    return true;
  }

  async delete(name: string): Promise<void> {
    this.assertOpen('delete');
    this.remove(name);
  }

  async deleteBulk(names: readonly string[]): Promise<void> {
    this.assertOpen('deleteBulk');
    for (const name of names) this.remove(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    this.bytes = 0;
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new ConnectorError('unavailable', `memory cache ${operation}`, 'the cache is closed');
  }

  private remove(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    const { maxRecords, maxBytes } = this.options;
    // Keep at least the newest entry, even when it alone is over the byte bound.
    while (this.entries.size > 1 && (this.entries.size > maxRecords || this.bytes > maxBytes)) {
      this.remove(this.entries.keys().next().value as string);
    }
  }
}
