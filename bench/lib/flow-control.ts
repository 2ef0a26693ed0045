/**
 * Flow control of the load senders (worker.ts publisher and record-writer), in three parts: the
 * subscriber workers report their slowest connection, the script relays the slowest of them to the
 * sender, and the sender keeps what is not yet complete under the recent completion rate × maxLagMs. Without it the kernel's TCP buffers on
 * loopback (several MB) queue tens of thousands of frames the server has not read yet: the sender
 * would report a rate the server never sustained, and deliveries would go on for many seconds
 * after the window. The socket's own backpressure holds the sender back too. After the window,
 * the parent waits for what is still in flight (settle).
 */
import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import { socketOf } from './raw-client.ts';

/** No writing while ws.bufferedAmount is over this; wait for 'drain'. */
const HIGH_WATER_BYTES = 1 << 20;
/** Frames written per event-loop turn, corked into one writev. */
const BATCH = 256;
/** Smallest in-flight window: lets the rate estimate grow from zero. */
const MIN_WINDOW = 64;
/** The completion rate is estimated over about this much recent progress. */
const RATE_SPAN_MS = 200;
/** After the window, how long the send buffer may take to empty. */
const DRAIN_TIMEOUT_MS = 10_000;
/** After the window, the parent stops waiting once counts have not moved for this long… */
const SETTLE_FLAT_MS = 1_000;
/** …and at the latest after this long. */
export const SETTLE_MAX_MS = 15_000;

// ---------------------------------------------------------------------------------------------
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
    if (o.moved(counts, latest)) {
      busyEnd = o.sample();
      movedAt = performance.now();
    }
    counts = latest;
  }
  return { counts, busyEnd };
}

// ---------------------------------------------------------------------------------------------
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
    const [t0, d0] = this.samples[0] as [number, number];
    const [t1, d1] = this.samples[this.samples.length - 1] as [number, number];
    return t1 > t0 ? (d1 - d0) / (t1 - t0) : 0;
  }

  /** Starts the rate estimate afresh, for a new send window. */
  restart(): void {
    this.samples = [[performance.now(), this.watermark]];
  }

  /** Calls `resume` on the next advance; returns what cancels that. */
  whenAdvanced(resume: () => void): () => void {
    this.onAdvance = resume;
    return () => (this.onAdvance = undefined);
  }
}

export interface SendOptions {
  durationMs: number;
  /** Frames not yet complete stay under the recent completion rate × this; 0: backpressure only. */
  maxLagMs: number;
  progress: Progress;
  /** The `index`-th frame of this window (from 0); called once per frame, in order. */
  frame: (index: number) => Uint8Array;
  /** Before each corked batch (e.g. one timestamp for all its frames). */
  beforeBatch?: () => void;
  /** Frames per second to hold to, never catching up by more than one batch; 0 or none: as fast as allowed. */
  rate?: number;
}

export interface SendStats {
  sent: number;
  /** Times the loop waited for 'drain' because ws.bufferedAmount was over the high-water mark. */
  backpressureWaits: number;
  /** Times the loop waited for progress because the in-flight window was full. */
  windowWaits: number;
  /** Largest number of frames in flight (sent, not yet complete) seen. */
  maxInFlight: number;
}

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
        return waitFor((resume) => {
          socket.once('drain', resume);
          return () => socket.off('drain', resume);
        });
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
