import pg from 'pg';
import { ConnectorError, PendingWrites, redactUrl, type PendingState, type RecordStorage, type StoredRecord } from '@deepstream-ts/core';
import type { PostgresStorageOptions } from './options.ts';

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

/**
 * Records in PostgreSQL: JSONB data, integer version, timestamps; the schema is created on first
 * start. An older version never replaces a newer one (writers on different nodes may land out of
 * order). Writes are coalesced: while one batch is in flight the next collects, keeping only the
 * latest state per record, so a burst of updates to one record costs few round trips while the
 * latest version always lands. A batch is one statement (one round trip, its own transaction;
 * with a table per prefix, one transaction over several), and each caller resolves only once the
 * batch holding its write committed.
 */
export class PostgresStorage implements RecordStorage {
  readonly capabilities = { durable: true, shared: true } as const;
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly createdTables = new Map<string, Promise<void>>();
  private readonly pending = new PendingWrites();
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Last connection problem, for health checks; cleared by the next success. */
  lastError: string | undefined;

  constructor(private readonly options: PostgresStorageOptions) {
    this.description = `postgres:${redactUrl(options.url)}`;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, connectionTimeoutMillis: 5000 });
    // An idle pooled client that loses its server must not crash the process.
    this.pool.on('error', (error) => (this.lastError = error.message));
  }

  /** Checks the connection and creates the (default) table; fails with a message naming the URL. */
  async connect(): Promise<void> {
    try {
      await this.ensureTable(this.tableFor(''));
    } catch (error) {
      throw new ConnectorError('unavailable', `postgres connect ${redactUrl(this.options.url)}`, (error as Error).message, { cause: error });
    }
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    const pending = this.pending.latest(name);
    if (pending !== undefined) return pending ?? undefined; // read your own unflushed write
    const table = this.tableFor(name);
    const result = await this.query('get', name, async () => {
      await this.ensureTable(table);
      return this.pool.query<{ version: number; data: StoredRecord['data'] }>({ name: `ds-get-${table}`, text: `SELECT version, data FROM ${table} WHERE name = $1`, values: [name] });
    });
    const row = result.rows[0];
    return row === undefined ? undefined : { version: row.version, data: row.data };
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
    this.closed = true;
    await this.flushing;
    await this.pool.end();
  }

  private tableFor(name: string): string {
    const { table, tablePerPrefix } = this.options;
    if (!tablePerPrefix) return quoteIdentifier(table);
    const slash = name.indexOf('/');
    const prefix = slash > 0 ? name.slice(0, slash) : 'default';
    return quoteIdentifier(`${table}_${prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40)}`);
  }

  private ensureTable(table: string): Promise<void> {
    let created = this.createdTables.get(table);
    if (created === undefined) {
      created = this.pool
        .query(
          `CREATE TABLE IF NOT EXISTS ${table} (
            name TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            data JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
          )`,
        )
        .then(() => undefined);
      created.catch(() => this.createdTables.delete(table)); // try again next time
      this.createdTables.set(table, created);
    }
    return created;
  }

  private enqueue(name: string, state: PendingState): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectorError('unavailable', `${this.description} write "${name}"`, 'the storage is closed'));
    const written = this.pending.add(name, state);
    this.flushing ??= this.drain();
    return written;
  }

  /** Flushes batch after batch until nothing is pending; writes arriving meanwhile form the next batch. */
  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let this turn's writes join the batch
    while (this.pending.size > 0) {
      const batch = this.pending.take();
      try {
        await this.withRetries(() => this.writeBatch(batch.entries));
        batch.resolve();
      } catch (error) {
        batch.reject(error as Error);
      }
    }
    this.flushing = undefined;
  }

  private async writeBatch(batch: ReadonlyMap<string, PendingState>): Promise<void> {
    const byTable = new Map<string, { upserts: [string[], number[], string[]]; deletes: string[] }>();
    for (const [name, record] of batch) {
      const table = this.tableFor(name);
      let group = byTable.get(table);
      if (group === undefined) byTable.set(table, (group = { upserts: [[], [], []], deletes: [] }));
      if (record === null) group.deletes.push(name);
      else {
        group.upserts[0].push(name);
        group.upserts[1].push(record.version);
        group.upserts[2].push(JSON.stringify(record.data));
      }
    }
    if (byTable.size === 1) {
      // One table (the usual case): one statement, atomic on its own, one round trip.
      const [table, group] = byTable.entries().next().value!;
      await this.ensureTable(table);
      await this.pool.query({ name: `ds-batch-${table}`, text: batchStatement(table), values: [...group.upserts, group.deletes] });
      this.lastError = undefined;
      return;
    }
    const client = await this.pool.connect();
    // A checked-out client whose server vanishes emits 'error'; the failing query reports it.
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      for (const [table, group] of byTable) {
        await this.ensureTable(table);
        await client.query({ name: `ds-batch-${table}`, text: batchStatement(table), values: [...group.upserts, group.deletes] });
      }
      await client.query('COMMIT');
      this.lastError = undefined;
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(broken); // a client that failed is discarded, not returned to the pool
    }
  }

  /** Retries connection failures with exponential backoff; other errors fail at once. */
  private async withRetries<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = (error as { code?: string }).code;
        const transient = code !== undefined && CONNECTION_ERRORS.has(code);
        if (transient) this.lastError = (error as Error).message;
        if (!transient || attempt >= this.options.writeAttempts) {
          throw new ConnectorError(transient ? 'unavailable' : 'failed', `${this.description} write`, (error as Error).message, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 4 ** (attempt - 1)));
      }
    }
  }

  private async query<T>(operation: string, name: string, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.lastError = undefined;
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const transient = code !== undefined && CONNECTION_ERRORS.has(code);
      if (transient) this.lastError = (error as Error).message;
      throw new ConnectorError(transient ? 'unavailable' : 'failed', `${this.description} ${operation} "${name}"`, (error as Error).message, { cause: error });
    }
  }
}

/**
 * A batch's deletes and upserts as one statement (a batch holds each name once, so the two never
 * touch the same row). An older version never replaces a newer one.
 */
function batchStatement(table: string): string {
  return `WITH removed AS (DELETE FROM ${table} WHERE name = ANY($4::text[]))
          INSERT INTO ${table} (name, version, data) SELECT * FROM unnest($1::text[], $2::int[], $3::jsonb[])
          ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = now()
          WHERE EXCLUDED.version >= ${table}.version`;
}

function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
