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

/**
 * Runs a connector call with a deadline; anything thrown becomes a `ConnectorError`. It runs once
 * or more per record write, so it allocates little: no race, and `operation` (the text of error
 * messages) may be a function, called only when there is an error to describe.
 */
export function withDeadline<T>(operation: string | (() => string), ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error instanceof ConnectorError) return reject(error);
      reject(new ConnectorError('failed', describe(operation), error instanceof Error ? error.message : String(error), { cause: error }));
    };
    const timer = setTimeout(() => fail(new ConnectorError('timeout', describe(operation), `no answer within ${ms} ms`)), ms);
    let answer: Promise<T>;
    try {
      answer = call();
    } catch (error) {
      return fail(error);
    }
    answer.then((value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    }, fail);
  });
}

function describe(operation: string | (() => string)): string {
  return typeof operation === 'string' ? operation : operation();
}
