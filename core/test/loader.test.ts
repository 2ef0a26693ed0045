import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KERNEL_VERSION, TOPIC } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import { fixturePlugin, fixturesDir, refusal, topicOwner } from '../../test/fixtures/plugins.ts';

describe('plugin loader refusals', () => {
  it('refuses a plugin whose kernel range excludes this kernel, naming plugin, range and kernel', async () => {
    const { code, message } = await refusal([fixturePlugin('future-plugin', { kernel: '^9.0.0' })]);
    assert.equal(code, 'DS_PLUGIN_KERNEL_MISMATCH');
    assert.match(message, /"future-plugin@1\.0\.0" supports kernel \^9\.0\.0/);
    assert.ok(message.includes(`@deepstream-ts/core@${KERNEL_VERSION}`));
  });

  it('refuses a missing dependency, naming both sides', async () => {
    const { code, message } = await refusal([fixturePlugin('needs-storage', { dependencies: { storage: '^1.0.0' } })]);
    assert.equal(code, 'DS_PLUGIN_DEPENDENCY_MISSING');
    assert.match(message, /"needs-storage@1\.0\.0" depends on "storage" \(\^1\.0\.0\), which is not configured/);
  });

  it('refuses a dependency outside the required range, naming both versions', async () => {
    const { code, message } = await refusal([
      fixturePlugin('storage', { version: '2.3.0' }),
      fixturePlugin('needs-storage', { dependencies: { storage: '^1.0.0' } }),
    ]);
    assert.equal(code, 'DS_PLUGIN_DEPENDENCY_MISMATCH');
    assert.match(message, /"needs-storage@1\.0\.0" depends on "storage" \^1\.0\.0, but "storage@2\.3\.0" is configured/);
  });

  it('refuses the same plugin configured twice', async () => {
    const { code, message } = await refusal([fixturePlugin('twice'), fixturePlugin('twice', { version: '1.1.0' })]);
    assert.equal(code, 'DS_PLUGIN_DUPLICATE');
    assert.match(message, /"twice@1\.0\.0" .* and "twice@1\.1\.0"/);
  });

  it('refuses a second owner of a topic, naming both plugins', async () => {
    const { code, message } = await refusal([topicOwner('first-events'), topicOwner('second-events')]);
    assert.equal(code, 'DS_TOPIC_ALREADY_CLAIMED');
    assert.match(message, /"second-events" claimed topic EVENT, which plugin "first-events" already owns/);
  });

  it('refuses a plugin claiming a kernel topic', async () => {
    const { code } = await refusal([topicOwner('auth-thief', TOPIC.AUTH)]);
    assert.equal(code, 'DS_TOPIC_ALREADY_CLAIMED');
  });

  it('refuses a dependency cycle', async () => {
    const { code, message } = await refusal([
      fixturePlugin('a', { dependencies: { b: '*' } }),
      fixturePlugin('b', { dependencies: { a: '*' } }),
    ]);
    assert.equal(code, 'DS_PLUGIN_DEPENDENCY_CYCLE');
    assert.match(message, /"a" depends on "b" depends on "a"/);
  });

  it('refuses an entry that is not a plugin', async () => {
    const { code, message } = await refusal([{ name: 'half-a-plugin' }]);
    assert.equal(code, 'DS_PLUGIN_INVALID');
    assert.match(message, /"version" must be a semver string; "kernel" must be a semver range; "setup" must be a function/);
  });

  it('refuses a package that is not installed', async () => {
    const { code, message } = await refusal(['deepstream-plugin-that-does-not-exist']);
    assert.equal(code, 'DS_PLUGIN_NOT_FOUND');
    assert.match(message, /deepstream-plugin-that-does-not-exist/);
  });

  it('bounds setup with pluginSetupTimeout', async () => {
    const hangs = fixturePlugin('hangs', { setup: () => new Promise(() => undefined) });
    const { code, message } = await refusal([hangs], { pluginSetupTimeout: 100 });
    assert.equal(code, 'DS_PLUGIN_SETUP_TIMEOUT');
    assert.match(message, /"hangs" did not finish setup within 100 ms/);
  });

  it('reports a setup that throws with the plugin name, and releases what earlier plugins set up', async () => {
    const log: string[] = [];
    const { code, message } = await refusal([
      fixturePlugin('fine', {}, log),
      fixturePlugin('broken', { setup: () => { throw new Error('no database'); } }, log),
    ]);
    assert.equal(code, 'DS_PLUGIN_SETUP_FAILED');
    assert.match(message, /"broken" failed in setup: no database/);
    assert.ok(log.includes('close fine'), 'the plugin that was set up is closed again');
  });

  it('a refused start leaves the port free', async () => {
    const server = await startTestServer({ plugins: [authOpen] });
    const port = server.port;
    await server.stop();
    const { code } = await refusal([topicOwner('x'), topicOwner('y')], { port });
    assert.equal(code, 'DS_TOPIC_ALREADY_CLAIMED');
    const again = await startTestServer({ port, plugins: [authOpen] });
    assert.equal(again.port, port);
    await again.stop();
  });
});

describe('plugin loader ordering', () => {
  it('sets up dependencies first, otherwise in config order, and closes in reverse', async () => {
    const log: string[] = [];
    const server = await startTestServer({
      plugins: [
        fixturePlugin('needs-base', { dependencies: { base: '^1.0.0' } }, log),
        fixturePlugin('independent', {}, log),
        fixturePlugin('base', {}, log),
      ],
    });
    assert.deepEqual(server.kernel.pluginNames, ['base@1.0.0', 'needs-base@1.0.0', 'independent@1.0.0']);
    await server.stop();
    assert.deepEqual(log, [
      'setup base',
      'setup needs-base',
      'setup independent',
      'close independent',
      'close needs-base',
      'close base',
    ]);
  });

  it('merges options over the plugin defaults', async () => {
    let seen: object | undefined;
    const plugin = fixturePlugin('configurable', { defaults: { a: 1, b: 2 } as never, setup: (ctx) => void (seen = ctx.options) });
    const server = await startTestServer({ plugins: [[plugin, { b: 3 }]] });
    await server.stop();
    assert.deepEqual(seen, { a: 1, b: 3 });
  });

  it('loads a third-party plugin by npm package name, with options', async () => {
    const server = await startTestServer(
      { plugins: [authOpen, events, ['deepstream-plugin-greeter', { greeting: 'hi there' }]] },
      { baseDir: fixturesDir },
    );
    try {
      assert.ok(server.kernel.pluginNames.includes('deepstream-plugin-greeter@1.2.0'));
      const response = await fetch(`http://127.0.0.1:${server.port}/greeting`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { greeting: 'hi there', users: [] });
    } finally {
      await server.stop();
    }
  });
});
