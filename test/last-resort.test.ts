/**
 * The kernel's last resort, against a real server process: a connector that leaves a rejected
 * promise nobody handles and throws from a timer must not end the process. Each failure is logged
 * with the plugin's name, and every client goes on being served.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { freePort } from './services/real-servers.ts';
import { startCli, type CliServer } from './helpers/cli-server.ts';

const connect = async (port: number) => {
  const client = new DeepstreamClient(`ws://127.0.0.1:${port}/deepstream`);
  await client.login({});
  return client;
};

const logLines = (server: CliServer) =>
  server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; plugin?: string });

describe('the kernel last-resort handler', () => {
  let server: CliServer;
  const clients: DeepstreamClient[] = [];
  after(() => {
    for (const client of clients) client.close();
    server?.child.kill('SIGKILL');
  });

  it('logs errors nobody handled with the plugin that caused them, and keeps serving', async () => {
    const port = await freePort();
    server = await startCli(['--config', './test/fixtures/configs/flaky-cache.yaml', '--port', String(port)]);
    const [writer, watcher] = await Promise.all([connect(port), connect(port)]);
    clients.push(writer, watcher);

    // Each write to boom/* makes the connector leave one unhandled rejection and one uncaught throw.
    for (let i = 0; i < 5; i++) await writer.record.setDataWithAck(`boom/${i}`, { i });
    await new Promise((resolve) => setTimeout(resolve, 100));

    assert.equal(server.child.exitCode, null, 'the server process is still running');
    const caught = logLines(server).filter((line) => line.msg.includes('DS_UNHANDLED_ERROR'));
    const count = (what: string) => caught.filter((line) => line.msg.includes(what)).length;
    assert.deepEqual({ rejections: count('unhandled promise rejection'), exceptions: count('uncaught exception') }, { rejections: 5, exceptions: 5 });
    for (const line of caught) {
      assert.equal(line.plugin, 'deepstream-connector-flaky', 'the culprit is named');
      assert.equal(line.level, 50, 'logged at error level');
    }

    // Still a working server: an event round trip and an acknowledged write with the healthy client.
    const started = Date.now();
    const received = new Promise((resolve) => watcher.event.subscribe('still/here', resolve));
    // The client sends subscriptions in batches a moment later: emit until one arrives.
    const emitting = setInterval(() => writer.event.emit('still/here', 'yes'), 50);
    assert.equal(await received, 'yes');
    clearInterval(emitting);
    await watcher.record.setDataWithAck('fine/1', { ok: true });
    assert.deepEqual(await writer.record.snapshot('fine/1'), { ok: true });
    assert.ok(Date.now() - started < 2000, 'served within its normal latency');
  });
});
