import { definePlugin, redactUrl } from '@deepstream-ts/core';
import { CLUSTER_REDIS_OPTIONS, checkTiming, type ClusterRedisOptions } from './options.ts';
import { RedisTransport } from './redis-transport.ts';

/**
 * Joins this server to a cluster over Redis pub/sub. It provides the `clusterTransport` service;
 * the kernel runs the cluster protocol on top and hands plugins the same `cluster` service as on
 * a single node. Every node needs a unique `serverName` and shared record storage and cache.
 */
export const clusterRedis = definePlugin<ClusterRedisOptions>({
  package: import.meta.url,
  provides: ['clusterTransport'],
  options: CLUSTER_REDIS_OPTIONS,
  setup(ctx) {
    const { url, channelPrefix, keepAliveInterval, nodeTimeout } = ctx.options;
    checkTiming(ctx.name, ctx.options);
    // The kernel closes the transport when it leaves the cluster.
    ctx.provide('clusterTransport', { transport: new RedisTransport({ url, channelPrefix }), timing: { keepAliveInterval, nodeTimeout } });
    ctx.log.info({ url: redactUrl(url) }, 'clustering over Redis');
  },
});

export default clusterRedis;
export { RedisTransport, CLUSTER_REDIS_OPTIONS, type ClusterRedisOptions };
