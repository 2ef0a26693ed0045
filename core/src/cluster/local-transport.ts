import type { ClusterTransport, ClusterTransportService } from './node.ts';

const nowhere: ClusterTransport = Object.freeze({
  description: 'local (single node)',
  alone: true,
  start: async () => undefined,
  publish: () => undefined,
  publishTo: () => undefined,
  close: async () => undefined,
});

/**
 * What a node runs over when no cluster connector is configured: a transport that reaches nobody.
 * The node is the same ClusterNode as over Redis; alone, it keeps no timer, sends no heartbeat,
 * and with no peers `send` returns before encoding anything. Stateless, so every kernel shares it.
 */
export const LOCAL_CLUSTER: ClusterTransportService = Object.freeze({
  transport: nowhere,
  // Unused: an `alone` transport has no heartbeats to time.
  timing: Object.freeze({ keepAliveInterval: 0, nodeTimeout: 0 }),
});
