/** Which Redis the plugin's options name, and the combinations it refuses before connecting to anything. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepstreamError } from '@deepstream-ts/core';
import { pluginOptions } from '../../../core/src/plugins/plugin-options.ts';
import { startTestServer } from '@deepstream-ts/core/testing';
import { clusterRedis, redisTarget, type ClusterRedisOptions } from '../src/index.ts';

const resolve = (given: object) => redisTarget('cluster-redis', pluginOptions(clusterRedis, given) as ClusterRedisOptions);
const refused = (given: object, pattern: RegExp) =>
  assert.throws(() => resolve(given), (error: unknown) => isDeepstreamError(error) && error.code === 'DS_PLUGIN_OPTIONS_INVALID' && pattern.test(error.message));

describe('cluster-redis options', () => {
  it('names one server by URL, by default $REDIS_URL or the local one', () => {
    assert.deepEqual(resolve({ url: 'redis://bus:6380' }), { url: 'redis://bus:6380' });
    assert.deepEqual(resolve({}), { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  });

  it('names a master group through Sentinels, and a Redis Cluster by its seed nodes', () => {
    assert.deepEqual(resolve({ sentinels: [{ host: 's1', port: 26379 }], name: 'main', password: 'pw' }), {
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'main',
      password: 'pw',
      sentinelPassword: undefined,
    });
    assert.deepEqual(resolve({ cluster: { nodes: ['redis://r1:7000', 'rediss://r2:7001'] } }), { cluster: { nodes: ['redis://r1:7000', 'rediss://r2:7001'] }, password: undefined });
  });

  it('refuses more than one of url, sentinels and cluster, and options that go with another mode', () => {
    refused({ url: 'redis://a:1', cluster: { nodes: ['redis://b:2'] } }, /give one of url, sentinels and cluster, not url and cluster/);
    refused({ sentinels: [{ host: 's', port: 1 }], name: 'm', cluster: { nodes: ['redis://b:2'] } }, /not sentinels and cluster/);
    refused({ sentinels: [{ host: 's', port: 1 }] }, /sentinels need the name of the master group/);
    refused({ name: 'm' }, /name is the Sentinel master group: it goes with sentinels/);
    refused({ url: 'redis://a:1', password: 'pw' }, /with url, put it in the URL/);
    refused({ cluster: { nodes: ['redis://b:2'] }, sentinelPassword: 'pw' }, /sentinelPassword goes with sentinels/);
    refused({ cluster: { nodes: ['redis://a:1', 'a:2'] } }, /cluster.nodes\[1\] is not redis:\/\/host:port/);
  });

  it('refuses wrong shapes through the schema, naming the key', () => {
    assert.throws(() => resolve({ sentinels: [] }), /sentinels/);
    assert.throws(() => resolve({ sentinels: [{ host: 's', port: 'x' }], name: 'm' }), /sentinels/);
    assert.throws(() => resolve({ cluster: { nodes: [] } }), /cluster/);
    assert.throws(() => resolve({ cluster: { seeds: ['redis://a:1'] } }), /cluster/);
  });

  it('stops a server start on conflicting options before connecting to anything', async () => {
    await assert.rejects(
      startTestServer({ plugins: [clusterRedis.with({ url: 'redis://127.0.0.1:1', sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm' })] }),
      (error: unknown) => isDeepstreamError(error) && /give one of url, sentinels and cluster, not url and sentinels/.test(error.message),
    );
  });
});
