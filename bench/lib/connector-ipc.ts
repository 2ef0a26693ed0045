/** Messages between bench/connectors.ts and its writer worker processes (child_process IPC). */
import type { LatencySnapshot } from './connector-latency.ts';

/** Parent → writer worker. */
export type ToConnectorWriter =
  /**
   * At wall-clock `startAt` (performance.timeOrigin + now, comparable across processes) every
   * writer sends `window` writes, then one more per acknowledgement: `warmupMs` unmeasured, then
   * `durationMs` measured; then no new writes, and the ones in flight are waited for.
   */
  | { type: 'go'; startAt: number; warmupMs: number; durationMs: number; window: number }
  | { type: 'stop' };

/** Writer worker → parent. */
export type FromConnectorWriter =
  /** Every connection is open and logged in. */
  | { type: 'ready'; connections: number }
  | { type: 'done'; result: ConnectorWriterResult }
  | { type: 'error'; message: string };

export interface ConnectorWriterResult {
  writers: number;
  /** Writes sent over the whole run (warm-up, window, none after it). */
  written: number;
  /** WRITE_ACKNOWLEDGEMENTs received over the whole run. */
  acked: number;
  /** WRITE_ACKNOWLEDGEMENTs received inside the measured window. */
  ackedInWindow: number;
  /** Per writer (in the worker's order): acknowledgements inside the window. */
  perWriterInWindow: number[];
  /** Per writer: the highest acknowledged version (its record's version once everything is acked). */
  lastAcked: number[];
  /** Per writer: the highest version sent. */
  lastSent: number[];
  /** Ack latency (send → WRITE_ACKNOWLEDGEMENT) of the acknowledgements inside the window. */
  latency: LatencySnapshot;
  /** Acknowledgements that were not for the oldest write in flight of their connection. */
  outOfOrder: number;
  /** Writes still unacknowledged when the worker gave up waiting (drain timeout) or the connection closed. */
  unacked: number;
  /** Anything else received (RECORD_UPDATE_ERROR, VERSION_EXISTS, …), by kind, and the first few in full. */
  errors: Record<string, number>;
  errorSamples: string[];
  /** Writers that stopped writing because of an error reply (their version sequence no longer holds). */
  stoppedByError: number;
  /** Connections the server closed during the run. */
  closed: number;
}
