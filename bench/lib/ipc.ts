/** Messages between bench/events.ts and its worker processes (child_process IPC). */
import type { ConnectionCounts } from './connection-counts.ts';

/** Parent → subscriber worker. */
export type ToSubscriber = { type: 'report' } | { type: 'stop' };

/** Subscriber worker → parent. */
export type FromSubscriber =
  | { type: 'ready'; connections: number }
  /** Sent whenever it grows: the fewest EMIT frames any live connection of the worker has received. */
  | { type: 'progress'; delivered: number }
  | { type: 'counts'; counts: SubscriberCounts }
  | { type: 'error'; message: string };

/**
 * Messages are EVENT EMIT frames; firstAt / lastAt are wall-clock ms (performance.timeOrigin +
 * now); verified: every connection's first EMIT frame decoded in full as EVENT EMIT 'bench' with
 * the sent payload.
 */
export interface SubscriberCounts extends ConnectionCounts {
  /** Frames that were neither EVENT EMIT nor the PONGs to our keep-alive PINGs. */
  other: number;
}

/** Parent → publisher worker. */
export type ToPublisher =
  /** Emit for `durationMs`; with `maxLagMs` > 0, keep the emits not yet delivered everywhere under
   * about `maxLagMs` worth of the measured delivery rate (flow control, see publisher-worker.ts). */
  | { type: 'go'; durationMs: number; maxLagMs: number }
  /** Relayed subscriber progress: every live subscriber has received at least `delivered` emits. */
  | { type: 'progress'; delivered: number }
  | { type: 'stop' };

/** Publisher worker → parent. */
export type FromPublisher =
  | { type: 'ready' }
  /** The emit window is over (frames may still sit in the send buffer); `done` follows. */
  | { type: 'sent'; emitted: number }
  | { type: 'done'; result: PublisherResult }
  | { type: 'error'; message: string };

export interface PublisherResult {
  emitted: number;
  /** Wall-clock ms of the first emit, of the last emit, and of the moment its send buffer was empty. */
  startAt: number;
  sendEndAt: number;
  drainedAt: number;
  /** Times the loop waited for 'drain' because ws.bufferedAmount was over the high-water mark. */
  backpressureWaits: number;
  /** Times the loop waited for subscriber progress because the in-flight window was full. */
  windowWaits: number;
  /** Largest number of emits in flight (emitted, not yet delivered to every subscriber) seen. */
  maxInFlight: number;
}
