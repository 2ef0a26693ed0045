import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveConfig, DEFAULT_CONNECTION_OPTIONS, isDeepstreamError } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';

const configs = fileURLToPath(new URL('../../test/fixtures/configs/', import.meta.url));

describe('config loading', () => {
  it('loads a TypeScript config with no build step, plugins as objects, with options and by package name', async () => {
    const { config, baseDir } = await loadConfig({ path: join(configs, 'typed.config.ts') });
    assert.equal(baseDir, configs.replace(/\/$/, ''));
    assert.equal(config.connection?.heartbeatInterval, 5000);
    const server = await startTestServer(config, { baseDir });
    try {
      assert.deepEqual(server.kernel.pluginNames, [
        '@deepstream-ts/plugin-auth-open@0.1.0',
        '@deepstream-ts/plugin-events@0.1.0',
        'deepstream-plugin-greeter@1.2.0',
      ]);
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${server.port}/greeting`)).json(), { greeting: 'ciao', users: [] });
    } finally {
      await server.stop();
    }
  });

  for (const file of ['by-package-name.yaml', 'by-package-name.json']) {
    it(`loads ${file}, resolving plugins by package name from the config's directory`, async () => {
      const { config, baseDir } = await loadConfig({ path: join(configs, file) });
      const server = await startTestServer(config, { baseDir });
      try {
        assert.ok(server.kernel.pluginNames.includes('@deepstream-ts/plugin-auth-open@0.1.0'));
        const body = (await (await fetch(`http://127.0.0.1:${server.port}/greeting`)).json()) as { greeting: string };
        assert.equal(body.greeting, file.endsWith('yaml') ? 'bonjour' : 'hallo');
      } finally {
        await server.stop();
      }
    });
  }

  it('finds deepstream.config.* in the directory it searches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-config-'));
    writeFileSync(join(dir, 'deepstream.config.json'), JSON.stringify({ port: 7123 }));
    const { config } = await loadConfig({ searchFrom: dir });
    assert.equal(config.port, 7123);
  });

  it('says clearly when there is no config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-config-'));
    await assert.rejects(loadConfig({ searchFrom: dir }), (error) => isDeepstreamError(error, 'DS_CONFIG_NOT_FOUND'));
    await assert.rejects(loadConfig({ path: join(dir, 'nope.yaml') }), /DS_CONFIG_NOT_FOUND: config file .*nope\.yaml does not exist/);
  });

  it('refuses unknown top-level keys, naming them', async () => {
    const { config } = await loadConfig({ path: join(configs, 'unknown-key.json') });
    assert.throws(() => resolveConfig(config), /DS_CONFIG_INVALID: unknown key "prot"/);
  });

  it('refuses values of the wrong type', () => {
    assert.throws(() => resolveConfig({ port: 70000 }), /port must be an integer from 0 to 65535/);
    assert.throws(() => resolveConfig({ connection: { heartbeatInterval: -1 } }), /connection\.heartbeatInterval must be a positive number/);
    assert.throws(() => resolveConfig({ logLevel: 'loud' as never }), /logLevel must be one of/);
  });

  it('applies defaults, then environment overrides, then explicit overrides', () => {
    const plain = resolveConfig({}, { env: {} });
    assert.equal(plain.port, 6020);
    assert.equal(plain.host, '0.0.0.0');
    assert.deepEqual(plain.connection, DEFAULT_CONNECTION_OPTIONS);
    const env = { DEEPSTREAM_PORT: '7001', DEEPSTREAM_HOST: '127.0.0.1', DEEPSTREAM_LOG_LEVEL: 'debug' };
    const fromEnv = resolveConfig({ port: 6500 }, { env });
    assert.deepEqual([fromEnv.port, fromEnv.host, fromEnv.logLevel], [7001, '127.0.0.1', 'debug']);
    assert.equal(resolveConfig({ port: 6500 }, { env, overrides: { port: 7000 } }).port, 7000);
  });
});
