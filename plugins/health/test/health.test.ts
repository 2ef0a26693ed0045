import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { definePlugin, type PluginEntry } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import health, { type HealthCheckResult, type HealthOptions } from '@deepstream-ts/plugin-health';
import { ControllableStorage, controllableStorage } from '../../../test/fixtures/storage.ts';

/** A plugin registering one check through the `health` service, as any plugin or connector would. */
function checking(name: string, check: () => HealthCheckResult | Promise<HealthCheckResult>) {
  return definePlugin({
    name: `test-check-${name}`,
    version: '1.0.0',
    kernel: '^0.1.0',
    needs: { health: 'optional' },
    setup(ctx) {
      ctx.find('health')?.register(name, check);
    },
  });
}

async function withServer(plugins: PluginEntry[], test: (server: TestServer, base: string) => Promise<void>): Promise<void> {
  const server = await startTestServer({ plugins: [authOpen, ...plugins] });
  try {
    await test(server, `http://127.0.0.1:${server.port}`);
  } finally {
    await server.stop();
  }
}

async function get(url: string): Promise<{ status: number; type: string | null; text: string; json: any }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text, json: text === '' ? undefined : JSON.parse(text) };
}

describe('health check', () => {
  it('answers 200 with an empty JSON body while healthy, at the path and below it', async () => {
    await withServer([health], async (_server, base) => {
      for (const path of ['/health-check', '/health-check/deep']) {
        const reply = await get(`${base}${path}`);
        assert.equal(reply.status, 200);
        assert.equal(reply.type, 'application/json; charset=utf-8');
        assert.equal(reply.text, '');
      }
    });
  });

  it('reports the kernel, sessions and every check with details: true, on a configured path', async () => {
    const options: Partial<HealthOptions> = { path: '/healthz', details: true };
    await withServer([health.with(options), checking('queue', () => ({ ok: true }))], async (server, base) => {
      const client = new DeepstreamClient(server.url);
      await client.login();
      const reply = await get(`${base}/healthz`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json, { status: 'healthy', sessions: 1, checks: { kernel: { ok: true }, queue: { ok: true } } });
      client.close();
      assert.equal((await fetch(`${base}/health-check`)).status, 404);
    });
  });

  it('answers 503 with the failing checks and their reasons: refused, thrown, too slow', async () => {
    const plugins = [
      health.with({ checkTimeout: 100 }),
      checking('refuses', () => ({ ok: false, reason: 'queue is full' })),
      checking('throws', () => {
        throw new Error('cannot reach the broker');
      }),
      checking('hangs', () => new Promise<HealthCheckResult>(() => undefined)),
      checking('fine', async () => ({ ok: true })),
    ];
    await withServer(plugins, async (server, base) => {
      const reply = await get(`${base}/health-check`);
      assert.equal(reply.status, 503);
      assert.equal(reply.type, 'application/json; charset=utf-8');
      assert.deepEqual(reply.json, {
        status: 'unhealthy',
        sessions: 0,
        checks: {
          kernel: { ok: true },
          refuses: { ok: false, reason: 'queue is full' },
          throws: { ok: false, reason: 'cannot reach the broker' },
          hangs: { ok: false, reason: 'no answer within 100 ms' },
          fine: { ok: true },
        },
      });
      assert.ok(server.warnings().some((line) => line.msg === 'health check failed'));
    });
  });

  it('probes the storage connector: unhealthy while it fails, healthy again after', async () => {
    const storage = new ControllableStorage();
    await withServer([controllableStorage(storage), records, health.with({ checkTimeout: 100 })], async (_server, base) => {
      assert.equal((await get(`${base}/health-check`)).status, 200);
      storage.mode = 'throw';
      let reply = await get(`${base}/health-check`);
      assert.equal(reply.status, 503);
      assert.deepEqual(reply.json.checks.storage, { ok: false, reason: 'controllable get "__deepstream-ts/health-check__": storage is down' });
      assert.deepEqual(reply.json.checks.cache, { ok: true }, 'the records plugin\'s default cache is the memory cache connector, probed like any other');
      storage.mode = 'hang';
      reply = await get(`${base}/health-check`);
      assert.deepEqual(reply.json.checks.storage, { ok: false, reason: 'no answer within 100 ms' });
      storage.mode = 'ok';
      assert.equal((await get(`${base}/health-check`)).status, 200);
    });
  });

  it('is unhealthy once shutdown starts', async () => {
    let during: { status: number; json: any } | undefined;
    const probe = definePlugin({
      name: 'test-shutdown-probe',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.hooks.beforeShutdown.tapPromise(ctx.name, async () => {
          during = await get(`http://127.0.0.1:${port}/health-check`);
        });
      },
    });
    let port = 0;
    await withServer([health, probe], async (server) => {
      port = server.port;
    });
    assert.equal(during?.status, 503);
    assert.deepEqual(during?.json.checks.kernel, { ok: false, reason: 'the server is shutting down' });
  });

  it('answers other methods 405 and refuses a second check of the same name', async () => {
    await withServer([health], async (server, base) => {
      const reply = await fetch(`${base}/health-check`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.get('allow'), 'GET');
      assert.equal(await reply.text(), 'Unsupported method. Supported methods: GET\r\n\r\n');
      const registry = server.kernel.service('health')!;
      const remove = registry.register('mine', () => ({ ok: true }));
      assert.throws(() => registry.register('mine', () => ({ ok: true })), /a health check named "mine" is already registered/);
      remove();
      registry.register('mine', () => ({ ok: false, reason: 'now failing' }));
      assert.equal((await get(`${base}/health-check`)).status, 503);
    });
  });
});
