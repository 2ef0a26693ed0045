/**
 * Merging in a cluster (RECORDS.md "Merge strategies"): two nodes share a Redis cache, whose
 * compare-and-set decides every version; a merge that loses it is merged again on what won.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import cacheRedis from '@deepstream-ts/cache-redis';
import clusterRedis from '@deepstream-ts/cluster-redis';
import { isSkip, startRedis, type RedisServer } from './services/real-servers.ts';

const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('merge strategies in a two-node cluster', { skip, timeout: 60_000 }, () => {
  const redis = redisServer as RedisServer;
  const nodes: TestServer[] = [];
  const clients: DeepstreamClient[] = [];

  before(async () => {
    const prefix = `merge-${Date.now()}:`;
    for (const name of ['a', 'b']) {
      nodes.push(
        await startTestServer({
          serverName: name,
          plugins: [
            authOpen,
            cacheRedis.with({ url: redis.url, keyPrefix: prefix }),
            records.with({ merge: [{ names: '*', strategy: 'paths' }], mergeHistory: 1000 }),
            clusterRedis.with({ url: redis.url, channelPrefix: prefix, keepAliveInterval: 200, nodeTimeout: 1000 }),
          ],
        }),
      );
    }
    await pause(500); // heartbeats: each node learns the other
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const node of nodes) await node.stop();
    await redis.stop();
  });

  it('writers on both nodes, own paths, as fast as they can: every ack resolves, nothing is lost, all converge', async () => {
    const name = `shared/${Date.now()}`;
    for (let i = 0; i < 6; i++) {
      const c = new DeepstreamClient(nodes[i % 2]!.url, { nativeTimerRegistry: true } as never);
      c.on('error', () => undefined);
      clients.push(c);
      await c.login();
    }
    const recs = clients.map((c) => c.record.getRecord(name));
    await Promise.all(recs.map((r) => r.whenReady()));
    const perClient = 20;
    const expected: Record<string, Record<string, number>> = {};
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < perClient; i++) {
      for (const [k, r] of recs.entries()) {
        (expected[`w${k}`] ??= {})[`n${i}`] = i;
        acks.push(r.setWithAck(`w${k}.n${i}`, i) as Promise<void>);
      }
    }
    const results = await Promise.race([Promise.allSettled(acks), pause(20_000).then(() => undefined)]);
    assert.ok(results !== undefined, 'every write is answered');
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'no write refused');
    const total = recs.length * perClient;
    for (let waited = 0; waited < 5000 && !recs.every((r) => r.version === total); waited += 50) await pause(50);
    for (const [k, r] of recs.entries()) {
      assert.equal(r.version, total, `client ${k} (node ${'ab'[k % 2]}) version`);
      assert.deepEqual(r.get(), expected, `client ${k} data`);
    }
  });
});
