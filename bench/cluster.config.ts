import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import cacheRedis from '@deepstream-ts/cache-redis';
import clusterRedis from '@deepstream-ts/cluster-redis';

/**
 * One node of the cluster bench/cluster.ts starts: open authentication, events, records in a
 * shared Redis cache (no storage), and clustering over the same Redis. The one-node baseline runs
 * this same config, so that only the node count differs between the two.
 *
 * BENCH_REDIS_URL     the Redis server (required)
 * BENCH_NODE_NAME     this node's unique serverName
 * BENCH_CLUSTER_NAME  namespace of the cache keys and pub/sub channels: nodes with the same name
 *                     form one cluster; a node with a name of its own is a cluster of one
 *
 * Start it by hand with
 * `BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_NODE_NAME=a node core/bin/deepstream.js start --config bench/cluster.config.ts`.
 */
const url = process.env.BENCH_REDIS_URL;
if (url === undefined || url === '') throw new Error('BENCH_REDIS_URL is required');
const cluster = process.env.BENCH_CLUSTER_NAME ?? 'cluster';

export default defineConfig({
  serverName: process.env.BENCH_NODE_NAME,
  port: 6020,
  connection: { path: '/deepstream' },
  plugins: [
    authOpen,
    events,
    // The cache before records, which uses it: it closes after them at shutdown.
    cacheRedis.with({ url, keyPrefix: `bench-${cluster}:` }),
    records,
    clusterRedis.with({ url, channelPrefix: `bench-${cluster}:cluster:` }),
  ],
});
