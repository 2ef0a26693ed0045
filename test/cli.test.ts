import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DeepstreamClient } from '@deepstream/client';
import { KERNEL_VERSION } from '@deepstream-ts/core';
import { freePort } from './services/real-servers.ts';
import { exited, startCli } from './helpers/cli-server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe('the deepstream CLI', () => {
  it('prints its version and help', async () => {
    const version = await run('npx', ['deepstream', '--version'], { cwd: root });
    assert.equal(version.stdout.trim(), KERNEL_VERSION);
    const help = await run(process.execPath, ['core/bin/deepstream.js', '--help'], { cwd: root });
    assert.match(help.stdout, /deepstream start \[options\]/);
    assert.match(help.stdout, /--config PATH/);
  });

  it('starts from --config with --port, serves the official client, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const { child, output } = await startCli(['--config', './test/fixtures/configs/typed.config.ts', '--port', String(port), '--log-level', 'info']);
    const ready = JSON.parse(output().split('\n').find((line) => line.includes('deepstream-ts is ready'))!) as { port: number; plugins: string[] };
    assert.equal(ready.port, port);
    assert.ok(ready.plugins.includes('deepstream-plugin-greeter@1.2.0'));

    const a = new DeepstreamClient(`ws://127.0.0.1:${port}/deepstream`);
    const b = new DeepstreamClient(`ws://127.0.0.1:${port}/deepstream`);
    await Promise.all([a.login({ username: 'a' }), b.login({ username: 'b' })]);
    const received = new Promise((resolve) => b.event.subscribe('cli', resolve));
    await new Promise((resolve) => setTimeout(resolve, 150));
    a.event.emit('cli', 42);
    assert.equal(await received, 42);

    const code = exited(child);
    const bClosed = new Promise<void>((resolve) => b.on('connectionStateChanged', (state: string) => state !== 'OPEN' && resolve()));
    child.kill('SIGTERM');
    assert.equal(await code, 0);
    await bClosed;
    assert.match(output(), /"msg":"stopped"/);
    a.close();
    b.close();
  });

  it('runs the root deepstream.config.ts (what npm start runs)', async () => {
    const port = await freePort();
    const { child } = await startCli(['--port', String(port)]);
    const client = new DeepstreamClient(`ws://127.0.0.1:${port}/deepstream`);
    await client.login();
    client.close();
    const code = exited(child);
    child.kill('SIGINT');
    assert.equal(await code, 0);
  });

  it('fails with a clear message and exit code 1 when the config is missing or a plugin is refused', async () => {
    await assert.rejects(run(process.execPath, ['core/bin/deepstream.js', 'start', '--config', 'nope.yaml'], { cwd: root }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /DS_CONFIG_NOT_FOUND/);
      return true;
    });
    await assert.rejects(run(process.execPath, ['core/bin/deepstream.js', 'start', '--port', 'x'], { cwd: root }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /DS_CONFIG_INVALID: port must be an integer/);
      return true;
    });
  });

  it('rejects an unknown command with usage', async () => {
    await assert.rejects(run(process.execPath, ['core/bin/deepstream.js', 'launch'], { cwd: root }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /unknown command "launch"/);
      return true;
    });
  });
});
