/** The connector in a kernel: servers in one process clustered by configuration alone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { isDeepstreamError } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import { clusterMemory, MemoryHub } from '../src/index.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function login(server: TestServer): Promise<DeepstreamClient> {
  const client = new DeepstreamClient(server.url);
  await client.login({});
  return client;
}

function refusal(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(isDeepstreamError(error), String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('cluster-memory in a kernel', () => {
  it('clusters two servers that name the same hub, one configured by package name as a config file would', async () => {
    const a = await startTestServer({ serverName: 'a', plugins: [authOpen, events, clusterMemory.with({ hub: 'by-name' })] });
    const b = await startTestServer({ serverName: 'b', plugins: [authOpen, events, ['@deepstream-ts/cluster-memory', { hub: 'by-name' }]] });
    const clients: DeepstreamClient[] = [];
    try {
      assert.deepEqual([...a.kernel.service('cluster')!.peers], ['b']);
      assert.deepEqual([...b.kernel.service('cluster')!.peers], ['a']);
      assert.ok(a.logs.some((line) => line.msg === 'joined the cluster' && line.transport === 'memory:by-name'));
      const [onA, onB] = [await login(a), await login(b)];
      clients.push(onA, onB);
      const got: unknown[] = [];
      onA.event.subscribe('news', (data) => got.push(data));
      await pause(150); // the client batches its subscription
      onB.event.emit('news', 'from b');
      await pause(150);
      assert.deepEqual(got, ['from b']);
    } finally {
      for (const c of clients) c.close();
      await b.stop();
      await a.stop();
    }
    assert.deepEqual(MemoryHub.named('by-name').nodes, [], 'both left the hub');
  });

  it('keeps servers on different hubs apart', async () => {
    const a = await startTestServer({ serverName: 'a', plugins: [clusterMemory.with({ hub: new MemoryHub() })] });
    const b = await startTestServer({ serverName: 'b', plugins: [clusterMemory.with({ hub: new MemoryHub() })] });
    await pause(20);
    assert.equal(a.kernel.service('cluster')!.peers.size, 0);
    assert.equal(b.kernel.service('cluster')!.peers.size, 0);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('refuses to start a second server of the same name on one hub', async () => {
    const hub = new MemoryHub('twins');
    const first = await startTestServer({ serverName: 'twin', plugins: [clusterMemory.with({ hub })] });
    try {
      await assert.rejects(
        startTestServer({ serverName: 'twin', plugins: [clusterMemory.with({ hub })] }),
        refusal('DS_CLUSTER_UNAVAILABLE', /cannot join the cluster over memory:twins: a node named "twin" is already on memory hub "twins"/),
      );
      assert.deepEqual(hub.nodes, ['twin']);
    } finally {
      await first.stop();
    }
  });

  it('refuses a node timeout not longer than the heartbeat interval, and a hub that is not one', async () => {
    await assert.rejects(
      startTestServer({ plugins: [clusterMemory.with({ keepAliveInterval: 1000, nodeTimeout: 1000 })] }),
      refusal('DS_CONFIG_INVALID', /nodeTimeout \(1000\) must be greater than keepAliveInterval \(1000\)/),
    );
    await assert.rejects(
      startTestServer({ plugins: [clusterMemory.with({ hub: {} as MemoryHub })] }),
      refusal('DS_CONFIG_INVALID', /hub must be a MemoryHub or the name of one/),
    );
  });
});
