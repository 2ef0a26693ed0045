/** Messages between bench/compare.ts and its event load workers (child_process IPC). */
import { addConnections, noConnections, type ConnectionCounts } from './connection-counts.ts';
import type { SparseHistogram } from './seq-payload.ts';

/** Parent → publisher. */
export type ToComparePublisher =
  /**
   * Emit for `durationMs`: as fast as flow control allows (`rate` 0), or `rate` emits per second.
   * With `maxLagMs` > 0, emits not yet delivered everywhere stay under about `maxLagMs` worth of
   * the measured delivery rate (as in publisher-worker.ts).
   */
  | { type: 'go'; durationMs: number; maxLagMs: number; rate: number }
  /** Relayed subscriber progress: this many emits have been delivered everywhere they go. */
  | { type: 'progress'; delivered: number }
  | { type: 'stop' };

/** Publisher → parent. */
export type FromComparePublisher =
  | { type: 'ready' }
  | { type: 'sent'; emitted: number }
  | { type: 'done'; result: ComparePublisherResult }
  | { type: 'error'; message: string };

export interface ComparePublisherResult {
  emitted: number;
  /** Monotonic ms (monoMs) of the first emit and of the end of the emit window. */
  startAt: number;
  sendEndAt: number;
  backpressureWaits: number;
  windowWaits: number;
  maxInFlight: number;
}

/** Parent → subscriber worker. */
export type ToCompareSubscriber = { type: 'report' } | { type: 'latency'; on: boolean } | { type: 'stop' };

/** Subscriber worker → parent. */
export type FromCompareSubscriber =
  | { type: 'ready'; connections: number }
  /** Sent when it grows: the fewest frames one live connection got (`min`) and the sum over connections (`sum`). */
  | { type: 'progress'; min: number; sum: number }
  | { type: 'counts'; counts: CompareSubscriberCounts }
  | { type: 'error'; message: string };

/**
 * Messages are EMIT frames; firstAt / lastAt are monotonic ms (monoMs); verified: every connection
 * that received something had a first frame that passed the full check.
 */
export interface CompareSubscriberCounts extends ConnectionCounts {
  gaps: number;
  missing: number;
  reordered: number;
  badFrames: number;
  /** Frames that were neither EVENT EMIT nor PONG. */
  other: number;
  problems: string[];
  latency: SparseHistogram;
}

/** Parent → idle worker. */
export type ToIdle = { type: 'stop' };
/** Idle worker → parent. */
export type FromIdle = { type: 'ready'; connections: number } | { type: 'error'; message: string };

/** One report for several subscriber workers: sums, minimums and maximums; latency histograms kept per worker. */
export function mergeCompareSubscriberCounts(counts: CompareSubscriberCounts[]): CompareSubscriberCounts & { latencies: SparseHistogram[] } {
  const total: CompareSubscriberCounts & { latencies: SparseHistogram[] } = {
    ...noConnections(),
    latencies: counts.map((c) => c.latency),
    gaps: 0,
    missing: 0,
    reordered: 0,
    badFrames: 0,
    other: 0,
    problems: [],
    latency: { pairs: [], count: 0, overflow: 0, maxUs: 0 },
  };
  for (const c of counts) {
    addConnections(total, c);
    total.gaps += c.gaps;
    total.missing += c.missing;
    total.reordered += c.reordered;
    total.badFrames += c.badFrames;
    total.other += c.other;
    total.problems.push(...c.problems);
  }
  return total;
}
