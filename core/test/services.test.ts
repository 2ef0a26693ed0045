/**
 * Declared needs and provides: the loader orders plugins by who provides what others need,
 * refuses what cannot work before any setup runs, and holds plugins to what they declared.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordStorage } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import records from '@deepstream-ts/plugin-records';
import { fixturePlugin, refusal } from '../../test/fixtures/plugins.ts';

const storage = { description: 'fake' } as unknown as RecordStorage;


describe('declared services', () => {
  it('sets a provider up before the plugins that need it, wherever it is listed; ctx.use works in setup', async () => {
    const log: string[] = [];
    let used: unknown;
    const user = fixturePlugin('user', { needs: { storage: 'required' }, setup: (ctx) => void (used = ctx.use('storage')) }, log);
    const provider = fixturePlugin('provider', { provides: ['storage'], setup: (ctx) => ctx.provide('storage', storage) }, log);
    const server = await startTestServer({ plugins: [user, provider] });
    await server.stop();
    assert.equal(used, storage);
    assert.deepEqual(server.kernel.pluginNames, ['provider@1.0.0', 'user@1.0.0']);
  });

  it('an optional need without a provider is undefined; with one, its provider comes first', async () => {
    const seen: unknown[] = [];
    const user = fixturePlugin('user', { needs: { storage: 'optional' }, setup: (ctx) => void seen.push(ctx.find('storage')) });
    const alone = await startTestServer({ plugins: [user] });
    await alone.stop();
    const provider = fixturePlugin('provider', { provides: ['storage'], setup: (ctx) => ctx.provide('storage', storage) });
    const both = await startTestServer({ plugins: [user, provider] });
    await both.stop();
    assert.deepEqual(seen, [undefined, storage]);
  });

  it('refuses a required service nobody provides, naming plugin and service', async () => {
    const { code, message } = await refusal([fixturePlugin('user', { needs: { storage: 'required' } })]);
    assert.equal(code, 'DS_SERVICE_MISSING');
    assert.match(message, /"user@1\.0\.0" needs service "storage", which no configured plugin provides/);
  });

  it('refuses two providers of one service, naming both', async () => {
    const provider = (name: string) => fixturePlugin(name, { provides: ['storage'], setup: (ctx) => ctx.provide('storage', storage) });
    const { code, message } = await refusal([provider('first'), provider('second')]);
    assert.equal(code, 'DS_SERVICE_ALREADY_PROVIDED');
    assert.match(message, /"first@1\.0\.0" and "second@1\.0\.0" both provide service "storage"/);
  });

  it('refuses a cycle through needed services, naming the chain', async () => {
    const a = fixturePlugin('a', { provides: ['storage'], needs: { cache: 'required' } });
    const b = fixturePlugin('b', { provides: ['cache'], needs: { storage: 'required' } });
    const { code, message } = await refusal([a, b]);
    assert.equal(code, 'DS_PLUGIN_DEPENDENCY_CYCLE');
    assert.match(message, /"a" needs "cache" from "b" needs "storage" from "a"/);
  });

  it('holds a plugin to its declarations: undeclared provide or use, or a declared service not provided', async () => {
    const sneaky = await refusal([fixturePlugin('sneaky', { setup: (ctx) => ctx.provide('storage', storage) })]);
    assert.equal(sneaky.code, 'DS_SERVICE_UNDECLARED');
    assert.match(sneaky.message, /plugin "sneaky" provides service "storage" without declaring it: add it to the manifest's "provides"/);
    const late = await refusal([fixturePlugin('late-binder', { setup: (ctx) => void ctx.find('storage') })]);
    assert.equal(late.code, 'DS_SERVICE_UNDECLARED');
    assert.match(late.message, /add it to the manifest's "needs"/);
    const idle = await refusal([fixturePlugin('idle', { provides: ['storage'] })]);
    assert.equal(idle.code, 'DS_SERVICE_MISSING');
    assert.match(idle.message, /declares it provides service "storage" but did not provide it during setup/);
  });

  it('kernel services need no declaration, and no plugin may declare one', async () => {
    let cluster: unknown;
    const server = await startTestServer({ plugins: [fixturePlugin('user', { setup: (ctx) => void (cluster = ctx.use('cluster')) })] });
    await server.stop();
    assert.notEqual(cluster, undefined);
    const { code } = await refusal([fixturePlugin('usurper', { provides: ['cluster'] })]);
    assert.equal(code, 'DS_SERVICE_ALREADY_PROVIDED');
  });

  it('a need with a default brings the default plugin when nothing configured provides it', async () => {
    const server = await startTestServer({ plugins: [records] });
    try {
      assert.ok(server.kernel.pluginNames.includes('@deepstream-ts/cache-memory@0.1.0'), server.kernel.pluginNames.join(', '));
      assert.ok(server.kernel.pluginNames.indexOf('@deepstream-ts/cache-memory@0.1.0') < server.kernel.pluginNames.indexOf('@deepstream-ts/plugin-records@0.1.0'));
    } finally {
      await server.stop();
    }
  });
});
