/**
 * Record writer worker: one raw connection that subscribes to the record (to learn its version),
 * then sends PATCH {name, version: v+1, path: 'value', data} as fast as it may for the duration
 * the parent asks. It is the record's only writer, so the version is its own sequence; it does
 * not receive its own broadcasts. With `ack`, every write carries isWriteAck + correlationId
 * (the version, as text) and the WRITE_ACKNOWLEDGEMENTs are counted. argv: url payloadBytes recordName
 *
 * Held back like the events publisher (flow-control.ts): by backpressure and, unless maxLagMs is
 * 0, by keeping the writes not yet complete under the measured completion rate × maxLagMs. A
 * write is complete once every subscriber has it and, with `ack`, once it is acknowledged.
 */
import { RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import { drained, Progress, sendFor } from './flow-control.ts';
import { frameKind, jsonPayload, keepAlive, login, PONG_KIND, wallNow } from './raw-client.ts';
import { WRITE_ACK_KIND, describe, kindName, subscribeRecord } from './record-client.ts';
import type { FromRecordWriter, RecordWriterCounts, ToRecordWriter } from './record-ipc.ts';

const [url, payloadArg, recordName] = process.argv.slice(2) as [string, string, string];
const MAX_SAMPLES = 5;

const send = (message: FromRecordWriter) => process.send?.(message);
const payload = jsonPayload(Number(payloadArg));

/** The record's version: READ_RESPONSE, then one up per write sent. */
let version = -1;
/** This run: whether writes ask for acks, and what came back. */
let ackMode = false;
const counts: RecordWriterCounts = { acked: 0, lastAckAt: 0, acksOutOfOrder: 0, errors: {}, errorSamples: [], closed: false };
let nextAck = 0;
let stopping = false;

/** Writes delivered to every subscriber (relayed by the parent), and the completed-write watermark. */
let delivered = 0;
const progress = new Progress();

/** A write is complete once every subscriber has it and, with `ack`, once it is acknowledged. */
function advance(): void {
  progress.advance(ackMode ? Math.min(delivered, counts.acked) : delivered);
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
    advance();
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
  keepAlive([{ ws: socket }]);
  return socket;
})().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  return undefined;
});
if (ws !== undefined) send({ type: 'ready', version });

function patch(ack: boolean): Uint8Array {
  const message: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.PATCH, name: recordName, version: ++version, path: 'value', data: payload };
  if (ack) {
    message.isWriteAck = true;
    message.correlationId = String(version);
  }
  return binaryCodec.encode(message);
}

async function run(durationMs: number, maxLagMs: number, ack: boolean): Promise<void> {
  if (ws === undefined) return;
  ackMode = ack;
  const startVersion = version;
  nextAck = version + 1;
  const startAt = wallNow();
  const { sent: written, ...waits } = await sendFor(ws, { durationMs, maxLagMs, progress, frame: () => patch(ack) });
  const sendEndAt = wallNow();
  send({ type: 'sent', written });
  await drained(ws);
  send({ type: 'done', result: { written, startVersion, startAt, sendEndAt, drainedAt: wallNow(), ...waits } });
}

process.on('message', (message: ToRecordWriter) => {
  if (message.type === 'progress') {
    if (message.delivered > delivered) {
      delivered = message.delivered;
      advance();
    }
  } else if (message.type === 'go') void run(message.durationMs, message.maxLagMs, message.ack);
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
