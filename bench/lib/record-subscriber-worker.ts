/**
 * Record subscriber worker: opens N raw connections, logs each in, subscribes to the record
 * (SUBSCRIBECREATEANDREAD → ack + READ_RESPONSE), then counts the record's UPDATE/PATCH broadcasts.
 * Each broadcast's version is read from its bytes (no full decode) and must be the previous one
 * + 1, starting from the READ_RESPONSE version; each connection's first broadcast is decoded in
 * full and checked. argv: url count payloadBytes recordName
 */
import type { WebSocket } from 'ws';
import { RECORD_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { reportSlowest } from './flow-control.ts';
import { connectInBatches, frameKind, jsonPayload, keepAlive, login, PONG_KIND, wallNow } from './raw-client.ts';
import { RECORD_PATCH_KIND, RECORD_UPDATE_KIND, describe, kindName, recordVersion, subscribeRecord } from './record-client.ts';
import type { FromRecordSubscriber, RecordSubscriberCounts, ToRecordSubscriber } from './record-ipc.ts';

const [url, countArg, payloadArg, recordName] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countArg);
const expectedPayload = jsonPayload(Number(payloadArg));
const MAX_SAMPLES = 5;

const send = (message: FromRecordSubscriber) => process.send?.(message);

interface Subscriber {
  ws: WebSocket;
  received: number;
  /** The READ_RESPONSE version, then the version of each broadcast. */
  version: number;
  closed: boolean;
}

const subscribers: Subscriber[] = [];
let firstAt = 0;
let lastAt = 0;
let closed = 0;
let verified = true;
let gaps = 0;
let missing = 0;
let backwards = 0;
const gapSamples: string[] = [];
const other: Record<string, number> = {};
const otherSamples: string[] = [];
let stopping = false;

/** Decodes a connection's first broadcast in full: PATCH of the record at `path` 'value' with the payload sent. */
function verify(data: Buffer, expectedVersion: number): boolean {
  const m = binaryCodec.decode(data);
  const ok =
    m?.topic === TOPIC.RECORD &&
    m.action === RECORD_ACTION.PATCH &&
    m.name === recordName &&
    m.path === 'value' &&
    m.data === expectedPayload &&
    m.version === expectedVersion &&
    m.isWriteAck !== true &&
    m.correlationId === undefined;
  if (!ok && verified) process.stderr.write(`record subscriber worker: first broadcast is not the expected PATCH v${expectedVersion}: ${describe(m)}\n`);
  return ok;
}

function counter(subscriber: Subscriber) {
  return (data: Buffer) => {
    const kind = frameKind(data);
    if (kind !== RECORD_PATCH_KIND && kind !== RECORD_UPDATE_KIND) {
      if (kind === PONG_KIND) return;
      const m = binaryCodec.decode(data);
      const name = kindName(m);
      other[name] = (other[name] ?? 0) + 1;
      if (otherSamples.length < MAX_SAMPLES) otherSamples.push(describe(m));
      return;
    }
    lastAt = wallNow();
    const version = recordVersion(data);
    const expected = subscriber.version + 1;
    if (subscriber.received++ === 0) {
      if (firstAt === 0) firstAt = lastAt;
      if (!verify(data, expected)) verified = false;
    }
    if (version !== expected) {
      gaps++;
      if (gapSamples.length < MAX_SAMPLES) gapSamples.push(`expected v${expected}, got v${version}`);
      if (version > subscriber.version) missing += version - expected;
      else backwards++;
    }
    if (version > subscriber.version) subscriber.version = version;
  };
}

const startVersions: number[] = [];

async function connectOne(): Promise<void> {
  const ws = await login(url);
  ws.on('error', () => {});
  const subscriber: Subscriber = { ws, received: 0, version: -1, closed: false };
  await subscribeRecord(ws, recordName, (version) => {
    subscriber.version = version;
    ws.on('message', counter(subscriber));
  });
  startVersions.push(subscriber.version);
  subscribers.push(subscriber);
  ws.on('close', () => {
    subscriber.closed = true;
    if (!stopping) closed++;
  });
}

function counts(): RecordSubscriberCounts {
  let min = Infinity;
  let max = 0;
  let received = 0;
  let vMin = Infinity;
  let vMax = -Infinity;
  for (const s of subscribers) {
    received += s.received;
    min = Math.min(min, s.received);
    max = Math.max(max, s.received);
    vMin = Math.min(vMin, s.version);
    vMax = Math.max(vMax, s.version);
  }
  const none = subscribers.length === 0;
  return {
    connections: subscribers.length,
    received,
    minPerConnection: none ? 0 : min,
    maxPerConnection: max,
    firstAt,
    lastAt,
    lastVersionMin: none ? -1 : vMin,
    lastVersionMax: none ? -1 : vMax,
    gaps,
    missing,
    backwards,
    gapSamples,
    other,
    otherSamples,
    closed,
    verified,
  };
}

function stop(): void {
  stopping = true;
  for (const s of subscribers) s.ws.terminate();
  process.exit(0);
}

process.on('message', (message: ToRecordSubscriber) => {
  if (message.type === 'report') send({ type: 'counts', counts: counts() });
  else if (message.type === 'stop') stop();
});
process.on('disconnect', stop); // the parent is gone

try {
  await connectInBatches(count, connectOne);
  keepAlive(subscribers);
  reportSlowest(subscribers, (delivered) => send({ type: 'progress', delivered }));
  send({ type: 'ready', connections: subscribers.length, startVersionMin: Math.min(...startVersions), startVersionMax: Math.max(...startVersions) });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
