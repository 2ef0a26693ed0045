import { DeepstreamError, definePlugin } from '@deepstream-ts/core';
import { MemoryHub, MemoryTransport } from './memory-hub.ts';

export interface ClusterMemoryOptions {
  /** The hub this node joins: a MemoryHub, or the name of a hub shared by every server in the process that names it. */
  hub: MemoryHub | string;
  /** Milliseconds between heartbeats. */
  keepAliveInterval: number;
  /** A node silent for this long is dropped with its subscriptions and providers. */
  nodeTimeout: number;
}

/**
 * Joins this server to a cluster of servers in the same process, over a MemoryHub: for tests and
 * examples that run several nodes without Redis. It provides the `clusterTransport` service; the
 * kernel runs the same cluster protocol on top as over Redis.
 */
export const clusterMemory = definePlugin<ClusterMemoryOptions>({
  package: import.meta.url,
  provides: ['clusterTransport'],
  // The legacy options form: a MemoryHub instance must reach setup as it is, not cloned by a schema.
  defaults: { hub: 'default', keepAliveInterval: 1000, nodeTimeout: 3000 },
  setup(ctx) {
    const { hub, keepAliveInterval, nodeTimeout } = ctx.options;
    if (typeof hub !== 'string' && !(hub instanceof MemoryHub)) {
      throw new DeepstreamError('DS_CONFIG_INVALID', `${ctx.name}: hub must be a MemoryHub or the name of one`);
    }
    if (!(nodeTimeout > keepAliveInterval)) {
      throw new DeepstreamError('DS_CONFIG_INVALID', `${ctx.name}: nodeTimeout (${nodeTimeout}) must be greater than keepAliveInterval (${keepAliveInterval})`);
    }
    const transport = (typeof hub === 'string' ? MemoryHub.named(hub) : hub).transport();
    // The kernel closes the transport when it leaves the cluster.
    ctx.provide('clusterTransport', { transport, timing: { keepAliveInterval, nodeTimeout } });
  },
});

export default clusterMemory;
export { MemoryHub, MemoryTransport };
