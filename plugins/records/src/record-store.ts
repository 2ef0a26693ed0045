import { ConnectorError, RECORD_ACTION, withDeadline, type Logger, type RecordCache, type RecordStorage, type StoredRecord } from '@deepstream-ts/core';

export interface StoreOptions {
  cacheRetrievalTimeout: number;
  storageRetrievalTimeout: number;
  /** Deadline for cache and storage writes and deletes. */
  storageWriteTimeout: number;
  /** Names starting with one of these live in the cache only (RECORDS §12.2). */
  storageExclusionPrefixes: readonly string[];
}

/** A read that failed, with the reply action the client expects (RECORDS §12.1). */
export class LoadFailure extends Error {
  constructor(
    readonly action: RECORD_ACTION.CACHE_RETRIEVAL_TIMEOUT | RECORD_ACTION.STORAGE_RETRIEVAL_TIMEOUT | RECORD_ACTION.RECORD_LOAD_ERROR,
    override readonly cause: ConnectorError,
  ) {
    super(cause.message);
  }
}

/** A write that failed: the cause is logged, the client gets RECORD_UPDATE_ERROR. */
export class WriteFailure extends Error {
  constructor(override readonly cause: ConnectorError) {
    super(cause.message);
  }
}

/**
 * Marks a promise as handled and returns it unchanged. A caller that gives up on `durable` once
 * `cache` has failed (the failure is logged and answered already) must not leave a rejection
 * nobody observes: in Node that ends the process.
 */
function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Cache first, then storage (RECORDS §12): every call bounded by a deadline, every failure a
 * typed error. Storage is optional; without it the cache holds the only copy.
 */
export class RecordStore {
  constructor(
    private readonly cache: RecordCache,
    private readonly storage: RecordStorage | undefined,
    private readonly options: StoreOptions,
    private readonly log: Logger,
  ) {}

  /** Cache, then storage; a storage hit is copied into the cache when `promote` is set. */
  async load(name: string, promote: boolean): Promise<StoredRecord | undefined> {
    const cached = await this.read('cache', name, this.options.cacheRetrievalTimeout, () => this.cache.get(name));
    if (cached !== undefined || !this.usesStorage(name)) return cached;
    const stored = await this.read('storage', name, this.options.storageRetrievalTimeout, () => this.storage!.get(name));
    if (stored !== undefined && promote) {
      this.cache.set(name, stored).catch((error: unknown) => this.log.warn({ err: error, record: name }, 'could not copy a record into the cache'));
    }
    return stored;
  }

  /** The version only: -1 when the record does not exist. */
  async head(name: string): Promise<number> {
    const version = await this.read('cache', name, this.options.cacheRetrievalTimeout, () => this.cache.head(name));
    if (version !== undefined) return version;
    return (await this.load(name, true))?.version ?? -1;
  }

  /** Versions of the names the cache holds (others are absent). */
  headCached(names: readonly string[]): Promise<Map<string, number>> {
    return this.read('cache', names.join(','), this.options.cacheRetrievalTimeout, () => this.cache.headBulk(names));
  }

  /**
   * Writes a new version. The cache is asked first, atomically, whether the version it holds is
   * still `previousVersion`: it decides between writers on different nodes. Only the winner
   * writes storage. `cache` resolves false when another write got there first; the caller
   * broadcasts once it resolves true and acknowledges once `durable` does.
   */
  commit(name: string, record: StoredRecord, previousVersion: number | undefined): { cache: Promise<boolean>; durable: Promise<void> } {
    const cached = this.change('cache', 'compareAndSet', name, () => this.cache.compareAndSet(name, record, previousVersion));
    const durable = cached.then((won) => {
      if (won && this.usesStorage(name)) return this.change('storage', 'set', name, () => this.storage!.set(name, record));
    });
    return { cache: cached, durable: observed(durable) };
  }

  /** An unversioned write (the hot path): storage and cache, no comparison. */
  write(name: string, record: StoredRecord): { cache: Promise<void>; durable: Promise<void> } {
    const stored = this.usesStorage(name) ? this.change('storage', 'set', name, () => this.storage!.set(name, record)) : Promise.resolve();
    const cached = this.change('cache', 'set', name, () => this.cache.set(name, record));
    return { cache: cached, durable: observed(Promise.all([stored, cached]).then(() => undefined)) };
  }

  async delete(name: string): Promise<void> {
    await Promise.all([
      this.change('cache', 'delete', name, () => this.cache.delete(name)),
      this.usesStorage(name) ? this.change('storage', 'delete', name, () => this.storage!.delete(name)) : undefined,
    ]);
  }

  /** Drops names from the cache so that the next read goes to storage (NOTIFY). */
  evict(names: readonly string[]): Promise<void> {
    return this.change('cache', 'deleteBulk', names, () => this.cache.deleteBulk(names));
  }

  private usesStorage(name: string): boolean {
    return this.storage !== undefined && !this.options.storageExclusionPrefixes.some((prefix) => name.startsWith(prefix));
  }

  private async read<T>(where: 'cache' | 'storage', name: string, ms: number, call: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(`${where} get "${name}"`, ms, call);
    } catch (error) {
      const failure = error as ConnectorError;
      const action =
        failure.kind !== 'timeout'
          ? RECORD_ACTION.RECORD_LOAD_ERROR
          : where === 'cache'
            ? RECORD_ACTION.CACHE_RETRIEVAL_TIMEOUT
            : RECORD_ACTION.STORAGE_RETRIEVAL_TIMEOUT;
      this.log.error({ err: failure, record: name }, `record ${where} read failed`);
      throw new LoadFailure(action, failure);
    }
  }

  /** `what` and `name` make the error text only when there is an error: this runs per write. */
  private change<T>(where: 'cache' | 'storage', what: string, name: string | readonly string[], call: () => Promise<T>): Promise<T> {
    const operation = () => `${where} ${what} ${typeof name === 'string' ? `"${name}"` : `${name.length} names`}`;
    return withDeadline(operation, this.options.storageWriteTimeout, call).catch((error: unknown) => {
      this.log.error({ err: error }, `record ${where} write failed`);
      throw new WriteFailure(error as ConnectorError);
    });
  }
}
