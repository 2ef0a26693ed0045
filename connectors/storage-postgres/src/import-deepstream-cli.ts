/**
 * One-shot copy of deepstream's postgres records into storage-postgres:
 *
 *   npx tsx node_modules/@deepstream-ts/storage-postgres/src/import-deepstream-cli.ts \
 *     --from postgres://user:pw@host/db [--schema ds] [--default-table default] \
 *     [--to postgres://…] [--table ds_records] [--table-per-prefix]
 *
 * `--to` defaults to `--from`: the same database, our table next to deepstream's schema.
 */
import { parseArgs } from 'node:util';
import { redactUrl } from '@deepstream-ts/core';
import { importDeepstreamRecords } from './import-deepstream.ts';
import { PostgresStorage } from './postgres-storage.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    schema: { type: 'string', default: 'ds' },
    'default-table': { type: 'string', default: 'default' },
    to: { type: 'string' },
    table: { type: 'string', default: 'ds_records' },
    'table-per-prefix': { type: 'boolean', default: false },
  },
});
if (values.from === undefined) {
  process.stderr.write('import-deepstream: --from postgres://… (the database deepstream wrote to) is required\n');
  process.exit(2);
}
const to = values.to ?? values.from;
const storage = new PostgresStorage({ url: to, table: values.table, tablePerPrefix: values['table-per-prefix'], poolSize: 4, writeAttempts: 3 });
try {
  await storage.connect();
  const report = await importDeepstreamRecords(values.from, storage, { schema: values.schema, defaultTable: values['default-table'] }, (table, count) =>
    process.stdout.write(`${values.schema}.${table}: ${count} records\n`),
  );
  process.stdout.write(`imported ${report.records} records from ${report.tables} tables of ${redactUrl(values.from)} into ${redactUrl(to)} (${values.table})\n`);
} catch (error) {
  process.stderr.write(`import-deepstream: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await storage.close();
}
