import { parseArgs } from 'node:util';
import { redactUrl, type PluginCommand } from '@deepstream-ts/core';
import { importDeepstreamRecords } from './import-deepstream.ts';
import type { PostgresStorageOptions } from './options.ts';
import { PostgresStorage } from './postgres-storage.ts';

/**
 * `deepstream import-deepstream --from postgres://… [--schema ds] [--default-table default]`: a
 * one-shot copy of the records deepstream's own Postgres connector wrote into this connector's
 * table. They go where the server will read them: the storage-postgres options of the config
 * (`--config`, else the `deepstream.config.*` here); with no config, into the `--from` database
 * with the default table. Safe to run again: records keep their versions.
 */
export const importCommand: PluginCommand<PostgresStorageOptions> = {
  summary: "copy the records deepstream 7's Postgres connector stored into this storage (--from URL)",
  async run({ args, options, config }) {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...args],
        options: {
          from: { type: 'string' },
          schema: { type: 'string', default: 'ds' },
          'default-table': { type: 'string', default: 'default' },
        },
      }));
    } catch (error) {
      return fail((error as Error).message, 2);
    }
    if (values.from === undefined) return fail('--from postgres://… (the database deepstream wrote to) is required', 2);
    const target = config === undefined ? { ...options, url: values.from } : options;
    const storage = new PostgresStorage(target);
    try {
      await storage.connect();
      const report = await importDeepstreamRecords(values.from, storage, { schema: values.schema, defaultTable: values['default-table'] }, (table, count) =>
        process.stdout.write(`${values.schema}.${table}: ${count} records\n`),
      );
      process.stdout.write(`imported ${report.records} records from ${report.tables} tables of ${redactUrl(values.from)} into ${redactUrl(target.url)} (${target.table})\n`);
      return 0;
    } catch (error) {
      return fail((error as Error).message, 1);
    } finally {
      await storage.close();
    }
  },
};

/** Usage errors exit 2, failures while importing 1. */
function fail(problem: string, code: 1 | 2): number {
  process.stderr.write(`deepstream import-deepstream: ${problem}\n`);
  return code;
}
