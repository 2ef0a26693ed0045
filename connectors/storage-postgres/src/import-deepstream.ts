import pg from 'pg';
import type { RecordStorage } from '@deepstream-ts/core';

/**
 * What deepstream's own postgres connector (@deepstream/storage-postgres) left in a database:
 * one schema (`ds` by default) with a table per record-name prefix, the part before the first
 * `/` (names without one go to the table `default`), each row `id text, version int, val`
 * (JSON as text, or JSONB). storage-postgres keeps records in another layout, so they are copied
 * once; this reads them back as record names, versions and data.
 */
export interface DeepstreamLayout {
  /** deepstream's `schema` option. */
  schema?: string;
  /** deepstream's `defaultTable` option: where names without a `/` are. */
  defaultTable?: string;
}

export interface ImportReport {
  tables: number;
  records: number;
}

const PAGE = 1000;

/**
 * Copies every record of deepstream's layout at `from` (a connection URL) into `to`, keeping each
 * version. Safe to run again: a storage never replaces a newer version with an older one.
 */
export async function importDeepstreamRecords(from: string, to: RecordStorage, { schema = 'ds', defaultTable = 'default' }: DeepstreamLayout = {}, progress: (table: string, count: number) => void = () => undefined): Promise<ImportReport> {
  const client = new pg.Client({ connectionString: from });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
      [schema],
    );
    if (tables.rows.length === 0) throw new Error(`schema "${schema}" has no tables: is it the schema deepstream's postgres connector used (its "schema" option)?`);
    let records = 0;
    for (const { table_name: table } of tables.rows) {
      const source = `${quote(schema)}.${quote(table)}`;
      let count = 0;
      for (let last: string | null = null; ; ) {
        const page: pg.QueryResult<{ id: string; version: number | null; val: unknown }> = await client.query(
          `SELECT id, version, val FROM ${source} ${last === null ? '' : 'WHERE id > $2'} ORDER BY id LIMIT $1`,
          last === null ? [PAGE] : [PAGE, last],
        );
        // One page's writes together: the storage batches them into few round trips.
        await Promise.all(
          page.rows.map((row) => {
            const data = typeof row.val === 'string' ? (JSON.parse(row.val) as never) : (row.val as never);
            return to.set(table === defaultTable ? row.id : `${table}/${row.id}`, { version: row.version ?? 0, data });
          }),
        );
        count += page.rows.length;
        if (page.rows.length < PAGE) break;
        last = page.rows[page.rows.length - 1]!.id;
      }
      progress(table, count);
      records += count;
    }
    return { tables: tables.rows.length, records };
  } finally {
    await client.end();
  }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
