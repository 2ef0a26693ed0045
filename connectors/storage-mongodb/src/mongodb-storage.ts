import { MongoClient, type Collection } from 'mongodb';
import { ConnectorError, type RecordStorage, type StoredRecord, redactUrl } from '@deepstream-ts/core';
import type { MongodbStorageOptions } from './options.ts';

interface RecordDocument {
  _id: string;
  version: number;
  data: StoredRecord['data'];
  updatedAt: Date;
}

/**
 * Records as MongoDB documents `{ _id: name, version, data, updatedAt }`. Writes to one record
 * are chained so that they land in call order; the driver pools connections and retries writes.
 */
export class MongodbStorage implements RecordStorage {
  readonly capabilities = { durable: true, shared: true } as const;
  readonly description: string;
  private readonly client: MongoClient;
  /** The last write per record, so that the next one waits for it. */
  private readonly tails = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: MongodbStorageOptions) {
    this.description = `mongodb:${redactUrl(options.url)}`;
    this.client = new MongoClient(options.url, { serverSelectionTimeoutMS: options.serverSelectionTimeout, retryWrites: true });
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
      await this.client.db(this.options.database).command({ ping: 1 });
    } catch (error) {
      await this.client.close().catch(() => undefined);
      throw new ConnectorError('unavailable', `mongodb connect ${redactUrl(this.options.url)}`, (error as Error).message, { cause: error });
    }
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    await this.tails.get(name); // read your own writes
    const doc = await this.run('get', name, () => this.collectionFor(name).findOne({ _id: name }));
    return doc === null ? undefined : { version: doc.version, data: doc.data };
  }

  set(name: string, record: StoredRecord): Promise<void> {
    return this.chain(name, 'set', () =>
      this.collectionFor(name).replaceOne({ _id: name }, { version: record.version, data: record.data, updatedAt: new Date() }, { upsert: true }),
    );
  }

  delete(name: string): Promise<void> {
    return this.chain(name, 'delete', () => this.collectionFor(name).deleteOne({ _id: name }));
  }

  async deleteBulk(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.delete(name)));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.tails.values()]);
    await this.client.close();
  }

  private collectionFor(name: string): Collection<RecordDocument> {
    const { collection, collectionPerPrefix, database } = this.options;
    const slash = name.indexOf('/');
    const suffix = collectionPerPrefix ? `_${(slash > 0 ? name.slice(0, slash) : 'default').replace(/[^A-Za-z0-9_]/g, '_')}` : '';
    return this.client.db(database).collection<RecordDocument>(`${collection}${suffix}`);
  }

  private chain(name: string, operation: string, write: () => Promise<unknown>): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectorError('unavailable', `${this.description} ${operation} "${name}"`, 'the storage is closed'));
    const previous = this.tails.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.run(operation, name, write)).then(() => undefined);
    const tail = next.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return next;
  }

  private async run<T>(operation: string, name: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      const kind = /ServerSelection|ECONNREFUSED|topology|closed/i.test(`${(error as Error).name} ${(error as Error).message}`) ? 'unavailable' : 'failed';
      throw new ConnectorError(kind, `${this.description} ${operation} "${name}"`, (error as Error).message, { cause: error });
    }
  }
}
