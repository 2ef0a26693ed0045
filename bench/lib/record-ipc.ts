/** Messages between bench/records.ts and its worker processes (child_process IPC). */
import { addConnections, noConnections, type ConnectionCounts } from './connection-counts.ts';

/** Parent → record subscriber worker. */
export type ToRecordSubscriber = { type: 'report' } | { type: 'stop' };

/** Record subscriber worker → parent. */
export type FromRecordSubscriber =
  /** Every connection is logged in, subscribed, and has its READ_RESPONSE (versions as read). */
  | { type: 'ready'; connections: number; startVersionMin: number; startVersionMax: number }
  /** Sent whenever it grows: the fewest UPDATE/PATCH frames any live connection of the worker has received. */
  | { type: 'progress'; delivered: number }
  | { type: 'counts'; counts: RecordSubscriberCounts }
  | { type: 'error'; message: string };

/**
 * Messages are UPDATE/PATCH frames for the record; firstAt / lastAt are wall-clock ms
 * (performance.timeOrigin + now); verified: every connection's first broadcast decoded in full
 * (PATCH of the record, path, data, version read + 1).
 */
export interface RecordSubscriberCounts extends ConnectionCounts {
  /** Lowest / highest record version a connection holds now (READ_RESPONSE, then each broadcast). */
  lastVersionMin: number;
  lastVersionMax: number;
  /** Broadcasts whose version was not the previous one + 1 (each is a gap or a step back). */
  gaps: number;
  /** Versions skipped over, summed (a jump from 4 to 7 misses 2). */
  missing: number;
  /** Broadcasts whose version was not above the previous one (duplicates, reordering). */
  backwards: number;
  /** The first few discontinuities, as text. */
  gapSamples: string[];
  /** Frames that were neither a broadcast of the record nor a PONG, by kind ("RECORD VERSION_EXISTS"). */
  other: Record<string, number>;
  otherSamples: string[];
}

/** Parent → writer worker. */
export type ToRecordWriter =
  /** Write for `durationMs`; `ack` asks for write acknowledgements; `maxLagMs` as in ipc.ts ToPublisher. */
  | { type: 'go'; durationMs: number; maxLagMs: number; ack: boolean }
  /** Relayed subscriber progress: every live subscriber has received at least `delivered` writes. */
  | { type: 'progress'; delivered: number }
  | { type: 'report' }
  | { type: 'stop' };

/** Writer worker → parent. */
export type FromRecordWriter =
  /** Logged in and subscribed; `version` is the record's version from its READ_RESPONSE. */
  | { type: 'ready'; version: number }
  /** The write window is over (frames may still sit in the send buffer); `done` follows. */
  | { type: 'sent'; written: number }
  | { type: 'done'; result: RecordWriterResult }
  | { type: 'counts'; counts: RecordWriterCounts }
  | { type: 'error'; message: string };

export interface RecordWriterResult {
  written: number;
  /** The version the record had before the first write: the writes carried startVersion + 1 … + written. */
  startVersion: number;
  /** Wall-clock ms of the first write, of the last write, and of the moment its send buffer was empty. */
  startAt: number;
  sendEndAt: number;
  drainedAt: number;
  /** Times the loop waited for 'drain' because ws.bufferedAmount was over the high-water mark. */
  backpressureWaits: number;
  /** Times the loop waited for progress (deliveries, and acks with `ack`) because the in-flight window was full. */
  windowWaits: number;
  /** Largest number of writes in flight (written, not yet delivered everywhere / acknowledged) seen. */
  maxInFlight: number;
}

export interface RecordWriterCounts {
  /** WRITE_ACKNOWLEDGEMENT frames received in this run. */
  acked: number;
  /** Wall-clock ms of the last acknowledgement; 0 if none. */
  lastAckAt: number;
  /** Acknowledgements whose correlationId was not the next one expected (they should come in order). */
  acksOutOfOrder: number;
  /** Anything else the writer received (VERSION_EXISTS, RECORD_UPDATE_ERROR, …), by kind. */
  errors: Record<string, number>;
  errorSamples: string[];
  /** The server closed the writer's connection. */
  closed: boolean;
}

/** One report for several subscriber workers: sums, minimums and maximums, samples kept. */
export function mergeRecordSubscriberCounts(counts: RecordSubscriberCounts[]): RecordSubscriberCounts {
  const total: RecordSubscriberCounts = {
    ...noConnections(),
    lastVersionMin: Infinity,
    lastVersionMax: -Infinity,
    gaps: 0,
    missing: 0,
    backwards: 0,
    gapSamples: [],
    other: {},
    otherSamples: [],
  };
  for (const c of counts) {
    addConnections(total, c);
    total.lastVersionMin = Math.min(total.lastVersionMin, c.lastVersionMin);
    total.lastVersionMax = Math.max(total.lastVersionMax, c.lastVersionMax);
    total.gaps += c.gaps;
    total.missing += c.missing;
    total.backwards += c.backwards;
    total.gapSamples.push(...c.gapSamples);
    for (const [kind, n] of Object.entries(c.other)) total.other[kind] = (total.other[kind] ?? 0) + n;
    total.otherSamples.push(...c.otherSamples);
  }
  return total;
}
