/**
 * Fan-out publisher worker: one raw connection that emits EVENT 'bench' as fast as it may, for
 * the duration the parent asks. argv: url payloadBytes
 *
 * Two limits hold it back:
 *  - backpressure: no writing while ws.bufferedAmount is over HIGH_WATER_BYTES (wait for 'drain');
 *  - flow control (unless maxLagMs is 0): emits not yet received by every subscriber stay under
 *    max(MIN_WINDOW, measured delivery rate × maxLagMs). Without it the kernel's TCP buffers on
 *    loopback (several MB) queue tens of thousands of emits the server has not read yet: the
 *    publisher would report a rate the server never sustained, and delivery would go on for many
 *    seconds after the window. Progress comes from the subscriber workers through the parent.
 */
import { EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { jsonPayload, login, socketOf, wallNow } from './raw-client.ts';
import type { FromPublisher, ToPublisher } from './ipc.ts';

const [url, payloadArg] = process.argv.slice(2);
const HIGH_WATER_BYTES = 1 << 20;
/** Frames written per event-loop turn, corked into one writev. */
const BATCH = 256;
/** Smallest in-flight window: lets the rate estimate grow from zero. */
const MIN_WINDOW = 64;
/** Delivery rate is estimated over about this much recent progress. */
const RATE_SPAN_MS = 200;
const DRAIN_TIMEOUT_MS = 10_000;

const send = (message: FromPublisher) => process.send?.(message);
const frame = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'bench', data: jsonPayload(Number(payloadArg)) });

const ws = await login(url as string).catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  return undefined;
});
if (ws !== undefined) {
  ws.on('error', () => {});
  ws.on('close', () => send({ type: 'error', message: 'publisher connection closed by the server' }));
  send({ type: 'ready' });
}

/** Delivered-everywhere watermark and recent (time, watermark) samples for the rate estimate. */
let delivered = 0;
const samples: Array<[number, number]> = [[performance.now(), 0]];
let onProgress: (() => void) | undefined;

function progress(value: number): void {
  if (value <= delivered) return;
  delivered = value;
  const now = performance.now();
  samples.push([now, value]);
  while (samples.length > 2 && (samples[1] as [number, number])[0] <= now - RATE_SPAN_MS) samples.shift();
  onProgress?.();
}

/** Emits per millisecond that reached every subscriber, recently. */
function deliveryRate(): number {
  const [t0, d0] = samples[0] as [number, number];
  const [t1, d1] = samples[samples.length - 1] as [number, number];
  return t1 > t0 ? (d1 - d0) / (t1 - t0) : 0;
}

function run(durationMs: number, maxLagMs: number): void {
  if (ws === undefined) return;
  const socket = socketOf(ws);
  samples.splice(0, samples.length, [performance.now(), delivered]);
  const startAt = wallNow();
  const deadline = performance.now() + durationMs;
  let emitted = 0;
  let backpressureWaits = 0;
  let windowWaits = 0;
  let maxInFlight = 0;

  /** Resumes `pump` on `event` or at the deadline, whichever comes first. */
  const waitFor = (subscribe: (resume: () => void) => () => void) => {
    let resumed = false;
    const resume = () => {
      if (resumed) return;
      resumed = true;
      clearTimeout(timer);
      unsubscribe();
      pump();
    };
    const timer = setTimeout(resume, Math.max(0, deadline - performance.now()));
    const unsubscribe = subscribe(resume);
  };

  const pump = (): void => {
    if (performance.now() >= deadline) return void finish();
    const window = maxLagMs > 0 ? Math.max(MIN_WINDOW, deliveryRate() * maxLagMs) : Infinity;
    const room = Math.floor(delivered + window - emitted);
    if (room <= 0) {
      windowWaits++;
      return waitFor((resume) => {
        onProgress = resume;
        return () => (onProgress = undefined);
      });
    }
    socket.cork();
    let n = 0;
    while (n < room && n < BATCH && ws.bufferedAmount < HIGH_WATER_BYTES) {
      ws.send(frame);
      n++;
    }
    socket.uncork();
    emitted += n;
    maxInFlight = Math.max(maxInFlight, emitted - delivered);
    if (ws.bufferedAmount >= HIGH_WATER_BYTES) {
      backpressureWaits++;
      return waitFor((resume) => {
        socket.once('drain', resume);
        return () => socket.off('drain', resume);
      });
    }
    setImmediate(pump);
  };

  const finish = async (): Promise<void> => {
    const sendEndAt = wallNow();
    send({ type: 'sent', emitted });
    const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
    while (ws.bufferedAmount > 0 && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 2));
    send({ type: 'done', result: { emitted, startAt, sendEndAt, drainedAt: wallNow(), backpressureWaits, windowWaits, maxInFlight } });
  };

  pump();
}

process.on('message', (message: ToPublisher) => {
  if (message.type === 'progress') progress(message.delivered);
  else if (message.type === 'go') run(message.durationMs, message.maxLagMs);
  else if (message.type === 'stop') {
    ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => {
  ws?.terminate();
  process.exit(0);
});
