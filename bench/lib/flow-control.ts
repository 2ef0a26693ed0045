/**
 * Flow control of the senders (worker.ts publisher and record-writer): subscriber workers report
 * their slowest connection, the script relays the slowest to the sender, the sender keeps what is not
 * complete under the recent completion rate × maxLagMs, and its socket's backpressure holds it too.
 * Without it the loopback TCP buffers queue tens of thousands of frames the server never read.
 */
import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import { socketOf } from './raw-client.ts';

const HIGH_WATER_BYTES = 1 << 20; // No writing while ws.bufferedAmount is over this; wait for 'drain'.
const BATCH = 256; // Frames written per event-loop turn, corked into one writev.
const MIN_WINDOW = 64; // Smallest in-flight window: lets the rate estimate grow from zero.
const RATE_SPAN_MS = 200; // The completion rate is estimated over about this much recent progress.
const DRAIN_TIMEOUT_MS = 10_000; // After the window, how long the send buffer may take to empty.
const SETTLE_FLAT_MS = 1_000; // After the window, the parent stops waiting once counts have not moved for this long…
export const SETTLE_MAX_MS = 15_000; // …and at the latest after this long.

// The script

/**
 * Parent: relays the workers' progress to the sender whenever the combined value grows. `read`
 * picks a worker's figure out of its progress messages; `combine` defaults to the slowest worker's
 * (a fan-out frame is complete once every subscriber has it).
 */
export function relayProgress<Message>(workers: ChildProcess[], post: (delivered: number) => void, read: (message: Message) => number | undefined, combine = (values: number[]) => Math.min(...values)): void {
  const progress = workers.map(() => 0);
  let relayed = 0;
  workers.forEach((w, i) =>
    w.on('message', (message: Message) => {
      const value = read(message);
      if (value === undefined) return;
      progress[i] = value;
      const combined = combine(progress);
      if (combined > relayed) post((relayed = combined));
    }),
  );
}

export interface SettleSpec<Counts, Sample> {
  report: () => Promise<Counts>;
  complete: (counts: Counts) => boolean;
  /** Whether anything arrived between two reports. */
  moved: (before: Counts, after: Counts) => boolean;
  /** Taken at the first report and at each that moved: the last one ends the busy span. */
  sample: () => Sample;
  pollMs: number;
}

/**
 * Parent, after the send window: polls the counts until they are complete, or until they stop
 * moving for SETTLE_FLAT_MS (at most SETTLE_MAX_MS). The busy span ends at the last poll that saw
 * progress, so that the CPU sampled there is not diluted by the wait for nothing.
 */
export async function settle<Counts, Sample>(o: SettleSpec<Counts, Sample>): Promise<{ counts: Counts; busyEnd: Sample }> {
  let counts = await o.report();
  let busyEnd = o.sample();
  let movedAt = performance.now();
  const giveUp = movedAt + SETTLE_MAX_MS;
  while (!o.complete(counts) && performance.now() < giveUp && performance.now() - movedAt < SETTLE_FLAT_MS) {
    await new Promise((resolve) => setTimeout(resolve, o.pollMs));
    const latest = await o.report();
    if (o.moved(counts, latest)) [busyEnd, movedAt] = [o.sample(), performance.now()];
    counts = latest;
  }
  return { counts, busyEnd };
}

// Sender

/** The sender's watermark of completed frames, and its recent rate. */
export class Progress {
  watermark = 0;
  /** Recent (time, watermark) pairs, oldest first. */
  private samples: Array<[number, number]> = [[performance.now(), 0]];
  private onAdvance: (() => void) | undefined;

  /** Moves the watermark up (never down) and wakes the sender if it waits for room. */
  advance(value: number): void {
    if (value <= this.watermark) return;
    this.watermark = value;
    const now = performance.now();
    this.samples.push([now, value]);
    while (this.samples.length > 2 && (this.samples[1] as [number, number])[0] <= now - RATE_SPAN_MS) this.samples.shift();
    this.onAdvance?.();
  }

  /** Frames per millisecond completed, recently. */
  rate(): number {
    const [[t0, d0], [t1, d1]] = [this.samples[0], this.samples[this.samples.length - 1]] as [[number, number], [number, number]];
    return t1 > t0 ? (d1 - d0) / (t1 - t0) : 0;
  }

  /** Starts the rate estimate afresh, for a new send window. */
  restart = () => void (this.samples = [[performance.now(), this.watermark]]);

  /** Calls `resume` on the next advance; returns what cancels that. */
  whenAdvanced = (resume: () => void) => ((this.onAdvance = resume), () => (this.onAdvance = undefined));
}

/**
 * Frames not yet complete stay under the recent completion rate × `maxLagMs` (0: backpressure
 * only); `frame(i)` is the i-th frame of the window, called once each, in order; `beforeBatch` runs
 * before each corked batch (one timestamp for all its frames); `rate`: frames per second to hold
 * to, never catching up by more than one batch (0 or none: as fast as allowed).
 */
export interface SendOptions {
  durationMs: number;
  maxLagMs: number;
  progress: Progress;
  frame: (index: number) => Uint8Array;
  beforeBatch?: () => void;
  rate?: number;
}

/** Frames sent; waits for 'drain' (ws.bufferedAmount over the high-water mark) and for progress (window full); most frames in flight. */
export type SendStats = { sent: number; backpressureWaits: number; windowWaits: number; maxInFlight: number };

/** Sends frames on `ws` for `durationMs`, as fast as backpressure, flow control and `rate` allow; resolves when the window is over. */
export function sendFor(ws: WebSocket, o: SendOptions): Promise<SendStats> {
  const socket = socketOf(ws);
  const { progress, maxLagMs } = o;
  const rate = o.rate ?? 0;
  progress.restart();
  const start = performance.now();
  const deadline = start + o.durationMs;
  const stats: SendStats = { sent: 0, backpressureWaits: 0, windowWaits: 0, maxInFlight: 0 };

  return new Promise((finish) => {
    /** Resumes `pump` on the event `subscribe` listens for, or at the deadline, whichever comes first. */
    const waitFor = (subscribe: (resume: () => void) => () => void) => {
      let resumed = false;
      const resume = () => void (!resumed && ((resumed = true), clearTimeout(timer), unsubscribe(), pump()));
      const timer = setTimeout(resume, Math.max(0, deadline - performance.now()));
      const unsubscribe = subscribe(resume);
    };

    const pump = (): void => {
      const now = performance.now();
      if (now >= deadline) return finish(stats);
      const window = maxLagMs > 0 ? Math.max(MIN_WINDOW, progress.rate() * maxLagMs) : Infinity;
      let room = Math.floor(progress.watermark + window - stats.sent);
      if (room <= 0) {
        stats.windowWaits++;
        return waitFor((resume) => progress.whenAdvanced(resume));
      }
      if (rate > 0) {
        const due = Math.floor(((now - start) * rate) / 1000) + 1 - stats.sent;
        if (due <= 0) {
          // The next frame is due in (1 - fraction) / rate s; timers fire at ~1 ms granularity.
          const waitMs = Math.max(0, (stats.sent * 1000) / rate - (now - start));
          setTimeout(pump, Math.min(waitMs, 1));
          return;
        }
        room = Math.min(room, due);
      }
      o.beforeBatch?.();
      socket.cork();
      let n = 0;
      while (n < room && n < BATCH && ws.bufferedAmount < HIGH_WATER_BYTES) ws.send(o.frame(stats.sent + n++));
      socket.uncork();
      stats.sent += n;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.sent - progress.watermark);
      if (ws.bufferedAmount >= HIGH_WATER_BYTES) {
        stats.backpressureWaits++;
        return waitFor((resume) => (socket.once('drain', resume), () => socket.off('drain', resume)));
      }
      setImmediate(pump);
    };

    pump();
  });
}

/** Resolves once `ws` has written everything it buffered, or after DRAIN_TIMEOUT_MS. */
export async function drained(ws: WebSocket): Promise<void> {
  const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
  while (ws.bufferedAmount > 0 && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 2));
}
