import { KERNEL_VERSION, type ClusterBus, type Inspection } from '@deepstream-ts/core';
import type { SessionTable } from './sessions.ts';
import type { Traffic, TrafficFigures } from './traffic.ts';

/** What one node publishes each interval on the stats event; the page keys it by `server`. */
export interface NodeFigures {
  readonly server: string;
  readonly version: string;
  /** Milliseconds timestamp when these figures were taken. */
  readonly time: number;
  readonly interval: number;
  readonly startedAt: number;
  /** The other nodes this node sees alive. */
  readonly peers: readonly string[];
  readonly connections: number;
  readonly uniqueUsers: number;
  /** How late this node's timer fired, in ms: a busy or blocked event loop shows here first. */
  readonly eventLoopDelay: number;
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  readonly traffic: TrafficFigures;
  /** Every reading features registered on the inspection service, e.g. `subscriptions{topic=event}`. */
  readonly gauges: ReadonlyArray<{ readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number }>;
}

const TOP = 10;

/** Takes this node's figures; `delay` is how late the interval timer fired. */
export function takeFigures(
  parts: { server: string; interval: number; startedAt: number; cluster: ClusterBus; inspection: Inspection; sessions: SessionTable; traffic: Traffic },
  delay: number,
): NodeFigures {
  const { rss, heapUsed } = process.memoryUsage();
  return {
    server: parts.server,
    version: KERNEL_VERSION,
    time: Date.now(),
    interval: parts.interval,
    startedAt: parts.startedAt,
    peers: [...parts.cluster.peers],
    connections: parts.sessions.connections,
    uniqueUsers: parts.sessions.uniqueUsers,
    eventLoopDelay: Math.max(0, Math.round(delay)),
    memory: { rss, heapUsed },
    traffic: parts.traffic.take(TOP),
    gauges: parts.inspection.gauges().map(({ name, labels, value }) => ({ name, labels, value })),
  };
}
