/**
 * Moving the data (issue 17): records that deepstream 7.0.2 wrote through its own postgres
 * connector (@deepstream/storage-postgres) are not in storage-postgres's layout; the one-shot
 * import copies them, and our server, started from the same deepstream config.yml, then serves
 * them to the official client with their data and versions. Needs PostgreSQL (skipped with the
 * reason otherwise) and deepstream 7.0.2 with its connector from bench/compare.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeepstreamClient } from '@deepstream/client';
import { repositoryRoot } from './helpers/cli-server.ts';
import { referenceUnavailable, startOurs, startReference } from './helpers/compat-servers.ts';
import { isSkip, startPostgres, type PostgresServer } from './services/real-servers.ts';
import { spawn } from 'node:child_process';

const postgres = await startPostgres();
const reference = (await referenceUnavailable()) ?? (existsSync(join(repositoryRoot, 'bench/compare/node_modules/@deepstream/storage-postgres')) ? undefined : '@deepstream/storage-postgres is not installed in bench/compare');
const skip = isSkip(postgres) ? postgres.skip : reference;

const RECORDS: Record<string, unknown> = {
  'users/alice': { name: 'Alice', tags: ['a', 'b'] },
  'users/bob': { name: 'Bob', nested: { deep: [1, 2, { x: null }] } },
  'plain-name': { top: true },
  "quote's/it": { text: "it's" },
};

function config(server: PostgresServer): string {
  const url = new URL(server.url);
  const dir = mkdtempSync(join(repositoryRoot, 'test-artifacts', 'compat-postgres-'));
  const file = join(dir, 'config.yml');
  writeFileSync(
    file,
    `serverName: UUID
logLevel: WARN
showLogo: false
auth:
  - type: none
permission:
  type: none
storage:
  name: postgres
  options:
    user: ${decodeURIComponent(url.username) || 'postgres'}
    password: ${decodeURIComponent(url.password) || "''"}
    host: ${url.hostname}
    port: ${url.port || 5432}
    database: ${url.pathname.slice(1) || 'postgres'}
    schema: ds
    writeInterval: 50
    notifications:
      CREATE_TABLE: false
      DESTROY_TABLE: false
      INSERT: false
      UPDATE: false
      DELETE: false
`,
  );
  return file;
}

function run(args: string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ...args], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? 1, output })));
}

async function login(url: string): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(url, { maxReconnectAttempts: 0, nativeTimerRegistry: true } as never);
  await c.login({ username: 'migrator' });
  return c;
}

describe('records deepstream 7.0.2 stored in PostgreSQL', { skip, timeout: 120_000 }, () => {
  let file: string;
  before(() => {
    mkdirSync(join(repositoryRoot, 'test-artifacts'), { recursive: true });
    file = config(postgres as PostgresServer);
  });
  after(async () => {
    rmSync(join(file, '..'), { recursive: true, force: true });
    if (!isSkip(postgres)) await postgres.stop();
  });

  it('are imported once and then served by our server, data and versions unchanged', async () => {
    const versions: Record<string, number> = {};
    const theirs = await startReference(file);
    try {
      const c = await login(theirs.url);
      for (const [name, data] of Object.entries(RECORDS)) {
        await (c.record.setDataWithAck(name, data as never) as unknown as Promise<void>);
        await (c.record.setDataWithAck(name, 'touched', 1 as never) as unknown as Promise<void>); // version 2
        const record = c.record.getRecord(name);
        await record.whenReady();
        versions[name] = record.version!;
      }
      c.close();
      await new Promise((resolve) => setTimeout(resolve, 500)); // deepstream flushes its writes every writeInterval
    } finally {
      await theirs.stop();
    }

    const before = await startOurs(file, {}, ['--log-level', 'info']);
    try {
      const c = await login(before.url);
      await assert.rejects(c.record.snapshot('users/alice'), /RECORD_NOT_FOUND/, 'storage-postgres does not read deepstream\'s layout by itself');
      c.close();
    } finally {
      await before.stop();
    }

    const url = (postgres as PostgresServer).url;
    const imported = await run(['core/bin/deepstream.js', 'import-deepstream', '--from', url, '--config', file]);
    assert.equal(imported.code, 0, imported.output);
    assert.match(imported.output, /imported 4 records from 3 tables/);

    const ours = await startOurs(file, {}, ['--log-level', 'info']);
    try {
      const c = await login(ours.url);
      for (const [name, data] of Object.entries(RECORDS)) {
        assert.deepEqual(await c.record.snapshot(name), { ...(data as object), touched: 1 }, name);
        const record = c.record.getRecord(name);
        await record.whenReady();
        assert.equal(record.version, versions[name], `${name} keeps its version`);
      }
      c.close();
    } finally {
      await ours.stop();
    }

    const again = await run(['core/bin/deepstream.js', 'import-deepstream', '--from', url, '--config', file]);
    assert.equal(again.code, 0, again.output);
  });
});
