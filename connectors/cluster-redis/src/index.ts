import { definePlugin } from '@deepstream-ts/core';
import { CLUSTER_REDIS_OPTIONS, checkTiming, redisTarget, type ClusterRedisOptions } from './options.ts';
import { RedisTransport, type RedisTarget, type RedisTransportOptions } from './redis-transport.ts';

/**
 * Joins this server to a cluster over Redis pub/sub: one Redis server, a master found through
 * Sentinel, or a Redis Cluster (sharded pub/sub). It provides the `clusterTransport` service; the
 * kernel runs the cluster protocol on top and hands plugins the same `cluster` service as on a
 * single node. Every node needs a unique `serverName` and shared record storage and cache.
 */
export const clusterRedis = definePlugin<ClusterRedisOptions>({
  package: import.meta.url,
  provides: ['clusterTransport'],
  options: CLUSTER_REDIS_OPTIONS,
  setup(ctx) {
    const { channelPrefix, keepAliveInterval, nodeTimeout } = ctx.options;
    checkTiming(ctx.name, ctx.options);
    const transport = new RedisTransport({ ...redisTarget(ctx.name, ctx.options), channelPrefix });
    // The kernel closes the transport when it leaves the cluster.
    ctx.provide('clusterTransport', { transport, timing: { keepAliveInterval, nodeTimeout } });
    ctx.log.info({ bus: transport.description }, 'clustering over Redis');
  },
});

export default clusterRedis;
export { RedisTransport, CLUSTER_REDIS_OPTIONS, redisTarget, type ClusterRedisOptions, type RedisTarget, type RedisTransportOptions };
