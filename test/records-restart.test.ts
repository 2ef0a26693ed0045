/**
 * Records survive a restart by default: the server is stopped with SIGTERM and started again on
 * the same SQLite file; every record written before the stop is there with the same version.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeepstreamClient } from '@deepstream/client';
import { freePort } from './services/real-servers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ds-restart-'));
const file = join(dir, 'data', 'records.sqlite');

async function startServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', 'test/fixtures/configs/records-sqlite.config.ts', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, DS_TEST_SQLITE_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${output}`)), 15_000);
    child.stdout!.on('data', () => output.includes('deepstream-ts is ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('records across a restart (SQLite, the default storage)', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every record written before SIGTERM, with the same version', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/deepstream`;
    const first = await startServer(port);
    const writer = new DeepstreamClient(url);
    await writer.login();
    const profile = writer.record.getRecord('user/ada');
    await profile.whenReady();
    await profile.setWithAck({ name: 'Ada', langs: ['en'] });
    await profile.setWithAck('langs[1]', 'fr' as never);
    await writer.record.setDataWithAck('settings/global', { theme: 'dark' });
    const list = writer.record.getList('todo/today');
    await list.whenReady();
    list.setEntries(['write tests', 'ship']);
    const unacked = writer.record.getRecord('scratch/last-words');
    await unacked.whenReady();
    unacked.set({ said: 'goodbye' }); // not acknowledged: still must be stored if the server applied it
    await new Promise((resolve) => setTimeout(resolve, 200));
    writer.close();
    assert.equal(await stop(first), 0);
    assert.ok(existsSync(file), 'the SQLite file exists');

    const second = await startServer(port);
    try {
      const reader = new DeepstreamClient(url);
      await reader.login();
      assert.deepEqual(await reader.record.snapshot('user/ada'), { name: 'Ada', langs: ['en', 'fr'] });
      assert.equal(await reader.record.head('user/ada'), 2);
      assert.deepEqual(await reader.record.snapshot('settings/global'), { theme: 'dark' });
      assert.equal(await reader.record.head('settings/global'), 1);
      assert.deepEqual(await reader.record.snapshot('todo/today'), ['write tests', 'ship']);
      assert.deepEqual(await reader.record.snapshot('scratch/last-words'), { said: 'goodbye' });
      // Writing continues from the stored version.
      const again = reader.record.getRecord('user/ada');
      await again.whenReady();
      assert.equal(again.version, 2);
      await again.setWithAck('name', 'Ada Lovelace' as never);
      assert.equal(await reader.record.head('user/ada'), 3);
      reader.close();
    } finally {
      assert.equal(await stop(second), 0);
    }
  });
});
