import { DeepstreamError, definePlugin, redactUrl } from '@deepstream-ts/core';
import { RedisTransport } from './redis-transport.ts';

export interface ClusterRedisOptions {
  url: string;
  channelPrefix: string;
  /** Milliseconds between heartbeats. */
  keepAliveInterval: number;
  /** A node silent for this long is dropped with its subscriptions and providers (spec: 6000). */
  nodeTimeout: number;
}

/**
 * Joins this server to a cluster over Redis pub/sub. It provides the `clusterTransport` service;
 * the kernel runs the cluster protocol on top and hands plugins the same `cluster` service as on
 * a single node. Every node needs a unique `serverName` and shared record storage and cache.
 */
export const clusterRedis = definePlugin<ClusterRedisOptions>({
  package: import.meta.url,
  provides: ['clusterTransport'],
  defaults: {
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    channelPrefix: 'ds:cluster:',
    keepAliveInterval: 2000,
    nodeTimeout: 6000,
  },
  setup(ctx) {
    const { url, channelPrefix, keepAliveInterval, nodeTimeout } = ctx.options;
    if (!(nodeTimeout > keepAliveInterval)) {
      throw new DeepstreamError('DS_CONFIG_INVALID', `${ctx.name}: nodeTimeout (${nodeTimeout}) must be greater than keepAliveInterval (${keepAliveInterval})`);
    }
    // The kernel closes the transport when it leaves the cluster.
    ctx.provide('clusterTransport', { transport: new RedisTransport({ url, channelPrefix }), timing: { keepAliveInterval, nodeTimeout } });
    ctx.log.info({ url: redactUrl(url) }, 'clustering over Redis');
  },
});

export default clusterRedis;
export { RedisTransport };
