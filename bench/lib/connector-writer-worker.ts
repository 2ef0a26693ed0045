/**
 * Connector benchmark writers: N raw connections, each the only writer of its own fresh record
 * `<prefix>/w<index>`, each keeping `window` acknowledged writes in flight. The first write is
 * CREATEANDUPDATE version 1, the next ones UPDATE version 2, 3, …, all with `isWriteAck` and the
 * version as `correlationId`; every WRITE_ACKNOWLEDGEMENT releases the next write. Anything else
 * the server sends (RECORD_UPDATE_ERROR, VERSION_EXISTS, INVALID_VERSION, … — each a bug here) is
 * decoded, counted by kind and sampled; a writer whose write was refused stops.
 * argv: url payloadBytes prefix firstIndex count
 */
import type { WebSocket } from 'ws';
import { RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import { connectInBatches, frameKind, jsonPayload, keepAlive, login, PONG_KIND } from './raw-client.ts';
import { WRITE_ACK_KIND, describe, kindName } from './record-client.ts';
import { LatencyHistogram } from './connector-latency.ts';
import type { ConnectorWriterResult, FromConnectorWriter, ToConnectorWriter } from './connector-ipc.ts';

const [url, payloadArg, prefix, firstArg, countArg] = process.argv.slice(2) as [string, string, string, string, string];
const payload = jsonPayload(Number(payloadArg));
const firstIndex = Number(firstArg);
const count = Number(countArg);
/** How long writes still in flight after the window are waited for. */
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_SAMPLES = 5;

const send = (message: FromConnectorWriter) => process.send?.(message);

interface Writer {
  index: number;
  name: string;
  ws: WebSocket;
  /** The highest version sent. */
  version: number;
  /** version → performance.now() when sent, oldest first. */
  inFlight: Map<number, number>;
  inWindow: number;
  lastAcked: number;
  stopped: boolean;
  closed: boolean;
}

const writers: Writer[] = [];
const latency = new LatencyHistogram();
let written = 0;
let acked = 0;
let ackedInWindow = 0;
let outOfOrder = 0;
let stoppedByError = 0;
let closed = 0;
const errors: Record<string, number> = {};
const errorSamples: string[] = [];
let stopping = false;
/** performance.now() bounds of the measured window; writes are sent while now < measureEnd. */
let measureStart = Infinity;
let measureEnd = -Infinity;

function write(w: Writer): void {
  const version = ++w.version;
  const message: Message = {
    topic: TOPIC.RECORD,
    action: version === 1 ? RECORD_ACTION.CREATEANDUPDATE : RECORD_ACTION.UPDATE,
    name: w.name,
    version,
    data: payload,
    isWriteAck: true,
    correlationId: String(version),
  };
  w.inFlight.set(version, performance.now());
  w.ws.send(binaryCodec.encode(message));
  written++;
}

function unexpected(w: Writer, m: Message | undefined, note = ''): void {
  const kind = kindName(m) + note;
  errors[kind] = (errors[kind] ?? 0) + 1;
  if (errorSamples.length < MAX_SAMPLES) errorSamples.push(`${w.name}: ${describe(m)}${note}`);
}

function onFrame(w: Writer, data: Buffer): void {
  const kind = frameKind(data);
  if (kind === PONG_KIND) return;
  const now = performance.now();
  const m = binaryCodec.decode(data);
  if (kind === WRITE_ACK_KIND && m?.isWriteAck === true && m.name === w.name) {
    const version = Number(m.correlationId);
    const sentAt = w.inFlight.get(version);
    if (sentAt === undefined) return unexpected(w, m, ' (not in flight)');
    if (w.inFlight.keys().next().value !== version) outOfOrder++;
    w.inFlight.delete(version);
    acked++;
    if (version > w.lastAcked) w.lastAcked = version;
    if (now >= measureStart && now < measureEnd) {
      ackedInWindow++;
      w.inWindow++;
      latency.add(now - sentAt);
    }
    if (!w.stopped && now < measureEnd) write(w);
    return;
  }
  unexpected(w, m);
  // A refused write: its slot is free, but the record's versions no longer follow ours.
  const version = Number(m?.correlationId);
  if (w.inFlight.delete(version) && !w.stopped) {
    w.stopped = true;
    stoppedByError++;
  }
}

async function connectOne(index: number): Promise<void> {
  const ws = await login(url);
  ws.on('error', () => {});
  const w: Writer = { index, name: `${prefix}/w${index}`, ws, version: 0, inFlight: new Map(), inWindow: 0, lastAcked: 0, stopped: false, closed: false };
  ws.on('message', (data: Buffer) => onFrame(w, data));
  ws.on('close', () => {
    w.closed = true;
    if (!stopping) closed++;
  });
  writers.push(w);
}

function run(startAt: number, warmupMs: number, durationMs: number, window: number): void {
  const start = startAt - performance.timeOrigin;
  measureStart = start + warmupMs;
  measureEnd = measureStart + durationMs;
  setTimeout(
    () => {
      for (const w of writers) for (let i = 0; i < window && !w.closed; i++) write(w);
    },
    Math.max(0, start - performance.now()),
  );
  setTimeout(() => void drain(), Math.max(0, measureEnd - performance.now()));
}

async function drain(): Promise<void> {
  const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
  const pending = () => writers.reduce((sum, w) => sum + (w.closed ? 0 : w.inFlight.size), 0);
  while (pending() > 0 && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 5));
  const result: ConnectorWriterResult = {
    writers: writers.length,
    written,
    acked,
    ackedInWindow,
    perWriterInWindow: writers.map((w) => w.inWindow),
    lastAcked: writers.map((w) => w.lastAcked),
    lastSent: writers.map((w) => w.version),
    latency: latency.snapshot(),
    outOfOrder,
    unacked: writers.reduce((sum, w) => sum + w.inFlight.size, 0),
    errors,
    errorSamples,
    stoppedByError,
    closed,
  };
  send({ type: 'done', result });
}

function stop(): void {
  stopping = true;
  for (const w of writers) w.ws.terminate();
  process.exit(0);
}

process.on('message', (message: ToConnectorWriter) => {
  if (message.type === 'go') run(message.startAt, message.warmupMs, message.durationMs, message.window);
  else if (message.type === 'stop') stop();
});
process.on('disconnect', stop); // the parent is gone

try {
  await connectInBatches(count, (i) => connectOne(firstIndex + i));
  // Promise.all finishes in any order: keep the writers in index order for the per-writer arrays.
  writers.sort((a, b) => a.index - b.index);
  keepAlive(writers);
  send({ type: 'ready', connections: writers.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
