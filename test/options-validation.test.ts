/**
 * Options are checked at start against each plugin's schema and the kernel's: the typos of
 * issue 15 stop the server with a coded error naming the plugin and the key path, and every
 * plugin and connector starts (or at least resolves its options) with its defaults.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import { isDeepstreamError, type DeepstreamConfig, type ErrorCode, type PluginManifest } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import { pluginOptions } from '../core/src/plugins/plugin-options.ts';
import cacheMemory from '@deepstream-ts/cache-memory';
import cacheRedis from '@deepstream-ts/cache-redis';
import clusterRedis from '@deepstream-ts/cluster-redis';
import storageMongodb from '@deepstream-ts/storage-mongodb';
import storagePostgres from '@deepstream-ts/storage-postgres';
import storageSqlite from '@deepstream-ts/storage-sqlite';
import authFile from '@deepstream-ts/plugin-auth-file';
import authHttp from '@deepstream-ts/plugin-auth-http';
import authJwt from '@deepstream-ts/plugin-auth-jwt';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import health from '@deepstream-ts/plugin-health';
import httpApi from '@deepstream-ts/plugin-http-api';
import listening from '@deepstream-ts/plugin-listening';
import metrics from '@deepstream-ts/plugin-metrics-prometheus';
import permissionsValve from '@deepstream-ts/plugin-permissions-valve';
import presence from '@deepstream-ts/plugin-presence';
import rateLimit from '@deepstream-ts/plugin-rate-limit';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import { repositoryRoot } from './helpers/cli-server.ts';

const run = promisify(execFile);

const refusedWith = (config: DeepstreamConfig, code: ErrorCode, message: string) =>
  assert.rejects(startTestServer(config), (error) => {
    assert.ok(isDeepstreamError(error, code), String(error));
    assert.equal(error.message, `${code}: ${message}`);
    return true;
  });

describe('options with a typo stop the server at start', () => {
  it('connection.heartbeatIntervall: an unknown kernel key, with the known ones', async () => {
    await assert.rejects(startTestServer({ connection: { heartbeatIntervall: 1000 } as never, plugins: [authOpen] }), (error) => {
      assert.ok(isDeepstreamError(error, 'DS_CONFIG_INVALID'));
      assert.match(error.message, /^DS_CONFIG_INVALID: unknown key "connection\.heartbeatIntervall"; known keys of connection: path, heartbeatInterval, /);
      return true;
    });
  });

  it('a kernel setting of the wrong type, quoting the value as written', async () => {
    await refusedWith({ connection: { heartbeatInterval: 'abc' as never } }, 'DS_CONFIG_INVALID', 'connection.heartbeatInterval must be a positive number, got "abc"');
    await refusedWith({ port: '6020' as never }, 'DS_CONFIG_INVALID', 'port must be an integer from 0 to 65535, got "6020"');
    await refusedWith({ connection: { loginBackoff: { window: '1m' as never } } }, 'DS_CONFIG_INVALID', 'connection.loginBackoff.window must be a positive number, got "1m"');
  });

  it('events { validatePayload }', async () => {
    await refusedWith(
      { plugins: [authOpen, events.with({ validatePayload: false } as never)] },
      'DS_PLUGIN_OPTIONS_INVALID',
      'plugin "@deepstream-ts/plugin-events": unknown option "validatePayload"; known options: validatePayloads, maxNameLength',
    );
  });

  it('storage-sqlite { filename }', async () => {
    await refusedWith(
      { plugins: [authOpen, storageSqlite.with({ filename: ':memory:' } as never)] },
      'DS_PLUGIN_OPTIONS_INVALID',
      'plugin "@deepstream-ts/storage-sqlite": unknown option "filename"; known options: file',
    );
  });

  it('auth-file { hsah: md5 }', async () => {
    await refusedWith(
      { plugins: [authFile.with({ users: { ann: { password: 'pw' } }, hash: false, hsah: 'md5' } as never)] },
      'DS_PLUGIN_OPTIONS_INVALID',
      'plugin "@deepstream-ts/plugin-auth-file": unknown option "hsah"; known options: path, users, hash, iterations, keyLength, reportInvalidParameters',
    );
  });

  it('a nested plugin option: rate-limit { perUser: { messagesPerSecnd } }', async () => {
    await refusedWith(
      { plugins: [authOpen, rateLimit.with({ perUser: { messagesPerSecnd: 5 } } as never)] },
      'DS_PLUGIN_OPTIONS_INVALID',
      'plugin "@deepstream-ts/plugin-rate-limit": unknown option "perUser.messagesPerSecnd"; known options of perUser: messagesPerSecond, burst',
    );
  });

  it('the CLI: a YAML config by package names, and an environment override', async () => {
    const refused = async (args: string[], env: NodeJS.ProcessEnv, message: string) =>
      assert.rejects(run(process.execPath, ['core/bin/deepstream.js', 'start', ...args], { cwd: repositoryRoot, env: { ...process.env, ...env } }), (error: { code: number; stdout: string; stderr: string }) => {
        assert.equal(error.code, 1);
        // Plain text on stderr when the config itself is refused; a pino JSON line once the logger is up.
        const output = error.stdout + error.stderr;
        assert.ok(output.includes(message) || output.includes(JSON.stringify(message).slice(1, -1)), output);
        return true;
      });
    await refused(
      ['--config', 'test/fixtures/options-typo/deepstream.yaml'],
      {},
      'DS_PLUGIN_OPTIONS_INVALID: plugin "@deepstream-ts/plugin-events": unknown option "validatePayload"; known options: validatePayloads, maxNameLength',
    );
    await refused(['--config', 'test/fixtures/options-typo/deepstream.yaml'], { DEEPSTREAM_PORT: 'abc' }, 'DS_CONFIG_INVALID: DEEPSTREAM_PORT: port must be an integer from 0 to 65535, got "abc"');
  });
});

describe('every plugin with its defaults', () => {
  it('starts and serves the official client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-options-'));
    const server = await startTestServer(
      {
        plugins: [
          cacheMemory,
          storageSqlite,
          authOpen,
          events,
          records,
          rpc,
          presence,
          listening,
          health,
          httpApi,
          metrics,
          rateLimit.with({ perConnection: { messagesPerSecond: 1000 } }),
          permissionsValve.with({ permissions: { record: { '*': { create: true, read: true, write: true, delete: true, listen: true, notify: true } }, event: { '*': { publish: true, subscribe: true, listen: true } }, rpc: { '*': { provide: true, request: true } }, presence: { '*': { allow: true } } } }),
        ],
      },
      { baseDir: dir },
    );
    const client = new DeepstreamClient(server.url);
    try {
      await client.login({ username: 'ann' });
      const record = client.record.getRecord('options/doc');
      await record.whenReady();
      await record.setWithAck({ ok: true });
      const heard = new Promise((resolve) => client.event.subscribe('options/event', resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.event.emit('options/event', 'hi');
      assert.equal(await heard, 'hi');
      const response = await fetch(`http://127.0.0.1:${server.port}/health-check`);
      assert.equal(response.status, 200);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves the defaults of every plugin and connector, given only what each requires', () => {
    const required: Array<[PluginManifest<object>, object | undefined]> = [
      [cacheMemory, undefined],
      [cacheRedis, undefined],
      [clusterRedis, undefined],
      [storageMongodb, undefined],
      [storagePostgres, undefined],
      [storageSqlite, undefined],
      [authFile, { path: 'users.yml' }],
      [authHttp, { endpointUrl: 'https://auth.test/login' }],
      [authJwt, { secret: 'x'.repeat(32) }],
      [authOpen, undefined],
      [events, undefined],
      [health, undefined],
      [httpApi, undefined],
      [listening, undefined],
      [metrics, undefined],
      [permissionsValve, { path: 'permissions.yml' }],
      [presence, undefined],
      [rateLimit, { messagesPerSecond: 10 }],
      [records, undefined],
      [rpc, undefined],
    ];
    for (const [manifest, options] of required) {
      assert.ok(manifest.options !== undefined, `${manifest.name} declares an options schema`);
      const resolved = pluginOptions(manifest, options) as Record<string, unknown>;
      assert.ok(Object.isFrozen(resolved), manifest.name);
    }
    assert.deepEqual(pluginOptions(events, undefined), { validatePayloads: true, maxNameLength: 1024 });
    assert.deepEqual(pluginOptions(cacheMemory, { maxRecords: Infinity }), { maxRecords: Infinity, maxBytes: 256 * 1024 * 1024 });
  });
});
