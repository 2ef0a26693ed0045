/**
 * Event publisher for bench/compare.ts: one raw connection emitting sequence-numbered,
 * timestamped EVENT EMITs (seq-payload.ts), either on one name (`fanout`: 'bench') or round robin
 * over `count` names (`topics`: t0000, t0001, …, each with its own sequence).
 * argv: url mode(fanout|topics) count payloadBytes
 *
 * Flow control as in publisher-worker.ts: no writing while ws.bufferedAmount is over 1 MiB, and
 * (unless maxLagMs is 0) emits not yet delivered stay under max(64, delivery rate × maxLagMs).
 * With a `rate`, emits leave on a schedule (rate per second), never in bursts to catch up more
 * than one 256-emit batch.
 */
import { login, socketOf } from './raw-client.ts';
import { EmitTemplate, monoMs, monoUs, topicName } from './seq-payload.ts';
import type { FromComparePublisher, ToComparePublisher } from './compare-ipc.ts';

const [url, mode, countArg, payloadArg] = process.argv.slice(2) as [string, string, string, string];
const HIGH_WATER_BYTES = 1 << 20;
const BATCH = 256;
const MIN_WINDOW = 64;
const RATE_SPAN_MS = 200;
const DRAIN_TIMEOUT_MS = 10_000;

const send = (message: FromComparePublisher) => process.send?.(message);
const templates = mode === 'topics' ? Array.from({ length: Number(countArg) }, (_, i) => new EmitTemplate(topicName(i), Number(payloadArg))) : [new EmitTemplate('bench', Number(payloadArg))];

const ws = await login(url).catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  return undefined;
});
if (ws !== undefined) {
  ws.on('error', () => {});
  ws.on('close', () => send({ type: 'error', message: 'publisher connection closed by the server' }));
  send({ type: 'ready' });
}

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

function deliveryRate(): number {
  const [t0, d0] = samples[0] as [number, number];
  const [t1, d1] = samples[samples.length - 1] as [number, number];
  return t1 > t0 ? (d1 - d0) / (t1 - t0) : 0;
}

function run(durationMs: number, maxLagMs: number, rate: number): void {
  if (ws === undefined) return;
  const socket = socketOf(ws);
  samples.splice(0, samples.length, [performance.now(), delivered]);
  const startAt = monoMs();
  const startPerf = performance.now();
  const deadline = startPerf + durationMs;
  const topicCount = templates.length;
  let emitted = 0;
  let backpressureWaits = 0;
  let windowWaits = 0;
  let maxInFlight = 0;

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
    const now = performance.now();
    if (now >= deadline) return void finish();
    const window = maxLagMs > 0 ? Math.max(MIN_WINDOW, deliveryRate() * maxLagMs) : Infinity;
    let room = Math.floor(delivered + window - emitted);
    if (room <= 0) {
      windowWaits++;
      return waitFor((resume) => {
        onProgress = resume;
        return () => (onProgress = undefined);
      });
    }
    if (rate > 0) {
      const due = Math.floor(((now - startPerf) * rate) / 1000) + 1 - emitted;
      if (due <= 0) {
        // Next emit due in (1 - fraction) / rate s; timers fire at ~1 ms granularity.
        const waitMs = Math.max(0, ((emitted * 1000) / rate) - (now - startPerf));
        setTimeout(pump, Math.min(waitMs, 1));
        return;
      }
      room = Math.min(room, due);
    }
    const ts = monoUs();
    socket.cork();
    let n = 0;
    while (n < room && n < BATCH && ws.bufferedAmount < HIGH_WATER_BYTES) {
      const i = emitted + n;
      const template = templates[i % topicCount] as EmitTemplate;
      ws.send(template.stamp(Math.floor(i / topicCount) + 1, ts));
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
    const sendEndAt = monoMs();
    send({ type: 'sent', emitted });
    const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
    while (ws.bufferedAmount > 0 && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 2));
    send({ type: 'done', result: { emitted, startAt, sendEndAt, backpressureWaits, windowWaits, maxInFlight } });
  };

  pump();
}

process.on('message', (message: ToComparePublisher) => {
  if (message.type === 'progress') progress(message.delivered);
  else if (message.type === 'go') run(message.durationMs, message.maxLagMs, message.rate);
  else if (message.type === 'stop') {
    ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => {
  ws?.terminate();
  process.exit(0);
});
