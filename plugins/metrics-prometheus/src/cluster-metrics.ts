import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterBus } from '@deepstream-ts/core';

/**
 * Cluster membership: the other nodes this one sees now, and joins and leaves over time (a node
 * that keeps leaving and joining is flapping: a network or Redis problem, or a too-short timeout).
 */
export function clusterMetrics(cluster: ClusterBus, registry: Registry, prefix: string): () => void {
  new Gauge({
    name: `${prefix}cluster_peers`,
    help: 'Other cluster nodes this node sees alive (0 on a single node)',
    registers: [registry],
    collect() {
      this.set(cluster.peers.size);
    },
  });
  const changes = new Counter({ name: `${prefix}cluster_membership_changes_total`, help: 'Other nodes joining or leaving, as this node saw it', labelNames: ['change'], registers: [registry] });
  return cluster.onMembership((change) => changes.inc({ change }));
}
