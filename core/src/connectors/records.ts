/**
 * The interfaces record connectors implement (RECORDS §12.3, made promise-based). Storage keeps
 * records durably; a cache sits in front of it and answers version-only questions cheaply.
 * Implementations live in `connectors/`; each runs the shared contract suites in `test/contracts/`.
 */

/** Record data: a JSON object or array at the top level (RECORDS §1). */
export type RecordData = Record<string, unknown> | unknown[];

export interface StoredRecord {
  readonly version: number;
  readonly data: RecordData;
}

/** What a connector can do, declared up front instead of optional methods. */
export interface ConnectorCapabilities {
  /** Data survives a restart of the server process. */
  readonly durable: boolean;
  /** Several server nodes may share it (required for a cluster). */
  readonly shared: boolean;
}

export interface RecordStorage {
  /** For logs and errors, e.g. `sqlite:./data/records.sqlite` (never a password). */
  readonly description: string;
  readonly capabilities: ConnectorCapabilities;
  /** `undefined` when the record does not exist. */
  get(name: string): Promise<StoredRecord | undefined>;
  /** Resolves once the record is stored; writes to one name land in call order. */
  set(name: string, record: StoredRecord): Promise<void>;
  /** Deleting a missing record succeeds. */
  delete(name: string): Promise<void>;
  deleteBulk(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RecordCache extends RecordStorage {
  /** The version alone; `undefined` when not cached. */
  head(name: string): Promise<number | undefined>;
  /** Versions of the cached names; names not cached are absent from the map. */
  headBulk(names: readonly string[]): Promise<Map<string, number>>;
  /**
   * Stores `record` only if the cached version is still `expectedVersion` (`undefined`: the record
   * must not exist), atomically: the shared cache is what decides between writers on different
   * nodes. A record the cache does not hold (evicted, expired) matches any expectation, since
   * storage is then the authority. Resolves false when another write got there first.
   */
  compareAndSet(name: string, record: StoredRecord, expectedVersion: number | undefined): Promise<boolean>;
}

export type ConnectorErrorKind = 'timeout' | 'unavailable' | 'failed';

/** Every connector failure reaches the records plugin as one of these. */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';

  constructor(
    readonly kind: ConnectorErrorKind,
    /** Which connector and operation, e.g. `storage get "user/1"`. */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
  }
}

/** Runs a connector call with a deadline; anything thrown becomes a `ConnectorError`. */
export async function withDeadline<T>(operation: string, ms: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectorError('timeout', operation, `no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(), deadline]);
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError('failed', operation, error instanceof Error ? error.message : String(error), { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
