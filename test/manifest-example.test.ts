/** The manifest example of README.md and core/README.md (test/fixtures/plugins/subscription-log.ts) does what they say. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import valve from '@deepstream-ts/plugin-permissions-valve';
import subscriptionLog from './fixtures/plugins/subscription-log.ts';
import { refusal } from './fixtures/plugins.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the manifest example', () => {
  it('logs permitted subscriptions under its prefix, after the events plugin, whatever the list order', async () => {
    const rules = { event: { '*': { subscribe: "name !== 'news/secret'", publish: true } }, record: { '*': { read: true } }, rpc: { '*': { request: true } }, presence: { '*': { allow: true } } };
    const server = await startTestServer({ plugins: [subscriptionLog.with({ prefix: 'news/', keep: 2 }), authOpen, valve.with({ permissions: rules }), events] });
    const client = new DeepstreamClient(server.url);
    client.on('error', () => undefined); // the denied subscription
    try {
      await client.login({ username: 'ada' });
      for (const name of ['news/a', 'sport/b', 'news/secret', 'news/c', 'news/d']) client.event.subscribe(name, () => undefined);
      const log = server.kernel.service('subscriptionLog')!;
      for (let i = 0; i < 100 && log.recent().length < 2; i++) await pause(10);
      await pause(20);
      assert.deepEqual(log.recent(), ['ada news/c', 'ada news/d']);
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('refuses to start without the plugin it depends on, and with a misspelt option', async () => {
    assert.equal((await refusal([authOpen, subscriptionLog])).code, 'DS_PLUGIN_DEPENDENCY_MISSING');
    const typo = await refusal([authOpen, events, subscriptionLog.with({ prefx: 'news/' } as never)]);
    assert.equal(typo.code, 'DS_PLUGIN_OPTIONS_INVALID');
    assert.match(typo.message, /prefx/);
  });
});
