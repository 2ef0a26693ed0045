/**
 * Record writer worker: one raw connection that subscribes to the record (to learn its version),
 * then sends PATCH {name, version: v+1, path: 'value', data} as fast as it may for the duration
 * the parent asks. It is the record's only writer, so the version is its own sequence; it does
 * not receive its own broadcasts. With `ack`, every write carries isWriteAck + correlationId
 * (the version, as text) and the WRITE_ACKNOWLEDGEMENTs are counted. argv: url payloadBytes recordName
 *
 * Held back like the events publisher (publisher-worker.ts): no writing while ws.bufferedAmount is
 * over HIGH_WATER_BYTES, and (unless maxLagMs is 0) writes in flight stay under
 * max(MIN_WINDOW, measured completion rate × maxLagMs). A write is complete once every subscriber
 * has it and, with `ack`, once it is acknowledged.
 */
import { CONNECTION_ACTION, RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import { frameKind, jsonPayload, login, socketOf, wallNow } from './raw-client.ts';
import { PONG_KIND, WRITE_ACK_KIND, describe, kindName, subscribeRecord } from './record-client.ts';
import type { FromRecordWriter, RecordWriterCounts, ToRecordWriter } from './record-ipc.ts';

const [url, payloadArg, recordName] = process.argv.slice(2) as [string, string, string];
const HIGH_WATER_BYTES = 1 << 20;
/** Frames written per event-loop turn, corked into one writev. */
const BATCH = 256;
/** Smallest in-flight window: lets the rate estimate grow from zero. */
const MIN_WINDOW = 64;
/** Completion rate is estimated over about this much recent progress. */
const RATE_SPAN_MS = 200;
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_SAMPLES = 5;
/** Keeps the connection clear of the server's heartbeat sweep on long runs (PROTOCOL §6.3). */
const PING_INTERVAL_MS = 20_000;

const send = (message: FromRecordWriter) => process.send?.(message);
const payload = jsonPayload(Number(payloadArg));

/** The record's version: READ_RESPONSE, then one up per write sent. */
let version = -1;
/** This run: writes sent, acknowledgements, what else came back. */
let written = 0;
let ackMode = false;
const counts: RecordWriterCounts = { acked: 0, lastAckAt: 0, acksOutOfOrder: 0, errors: {}, errorSamples: [], closed: false };
let nextAck = 0;
let stopping = false;

/** Completed-write watermark and recent (time, watermark) samples for the rate estimate. */
let delivered = 0;
let watermark = 0;
const samples: Array<[number, number]> = [[performance.now(), 0]];
let onProgress: (() => void) | undefined;

function progress(): void {
  const value = ackMode ? Math.min(delivered, counts.acked) : delivered;
  if (value <= watermark) return;
  watermark = value;
  const now = performance.now();
  samples.push([now, value]);
  while (samples.length > 2 && (samples[1] as [number, number])[0] <= now - RATE_SPAN_MS) samples.shift();
  onProgress?.();
}

/** Writes per millisecond completed, recently. */
function completionRate(): number {
  const [t0, d0] = samples[0] as [number, number];
  const [t1, d1] = samples[samples.length - 1] as [number, number];
  return t1 > t0 ? (d1 - d0) / (t1 - t0) : 0;
}

function onFrame(data: Buffer): void {
  const kind = frameKind(data);
  if (kind === PONG_KIND) return;
  const m = binaryCodec.decode(data);
  if (kind === WRITE_ACK_KIND && m?.isWriteAck === true && m.name === recordName) {
    const id = Number(m.correlationId);
    if (id !== nextAck) counts.acksOutOfOrder++;
    nextAck = id + 1;
    counts.acked++;
    counts.lastAckAt = wallNow();
    progress();
    return;
  }
  const name = kindName(m);
  counts.errors[name] = (counts.errors[name] ?? 0) + 1;
  if (counts.errorSamples.length < MAX_SAMPLES) counts.errorSamples.push(describe(m));
}

const ws = await (async () => {
  const socket = await login(url);
  socket.on('error', () => {});
  await subscribeRecord(socket, recordName, (v) => {
    version = v;
    socket.on('message', onFrame);
  });
  socket.on('close', () => {
    counts.closed = true;
    if (!stopping) send({ type: 'error', message: 'writer connection closed by the server' });
  });
  const ping = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  setInterval(() => socket.send(ping), PING_INTERVAL_MS).unref();
  return socket;
})().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  return undefined;
});
if (ws !== undefined) send({ type: 'ready', version });

function run(durationMs: number, maxLagMs: number, ack: boolean): void {
  if (ws === undefined) return;
  const socket = socketOf(ws);
  ackMode = ack;
  const startVersion = version;
  nextAck = version + 1;
  samples.splice(0, samples.length, [performance.now(), watermark]);
  const startAt = wallNow();
  const deadline = performance.now() + durationMs;
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
    const window = maxLagMs > 0 ? Math.max(MIN_WINDOW, completionRate() * maxLagMs) : Infinity;
    const room = Math.floor(watermark + window - written);
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
      const message: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.PATCH, name: recordName, version: ++version, path: 'value', data: payload };
      if (ack) {
        message.isWriteAck = true;
        message.correlationId = String(version);
      }
      ws.send(binaryCodec.encode(message));
      n++;
    }
    socket.uncork();
    written += n;
    maxInFlight = Math.max(maxInFlight, written - watermark);
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
    send({ type: 'sent', written });
    const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
    while (ws.bufferedAmount > 0 && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 2));
    send({ type: 'done', result: { written, startVersion, startAt, sendEndAt, drainedAt: wallNow(), backpressureWaits, windowWaits, maxInFlight } });
  };

  pump();
}

process.on('message', (message: ToRecordWriter) => {
  if (message.type === 'progress') {
    if (message.delivered > delivered) {
      delivered = message.delivered;
      progress();
    }
  } else if (message.type === 'go') run(message.durationMs, message.maxLagMs, message.ack);
  else if (message.type === 'report') send({ type: 'counts', counts });
  else if (message.type === 'stop') {
    stopping = true;
    ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => {
  stopping = true;
  ws?.terminate();
  process.exit(0);
});
