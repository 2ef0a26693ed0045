/**
 * Record helpers for the raw benchmark clients (bench/records.ts): subscribing to a record, and
 * reading a broadcast's version from its bytes without a full protobuf decode.
 */
import type { WebSocket } from 'ws';
import { RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';

const STEP_TIMEOUT_MS = 10_000;

/** Topic × 256 + action, as frameKind (raw-client.ts) returns them. */
export const RECORD_UPDATE_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.UPDATE;
export const RECORD_PATCH_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.PATCH;
export const WRITE_ACK_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.WRITE_ACKNOWLEDGEMENT;

/**
 * SUBSCRIBECREATEANDREAD {names:[name], correlationId:'1'} (RECORDS §2.1); resolves with the
 * version of the READ_RESPONSE that follows the ack. `onRead` runs inside the message handler
 * that saw the READ_RESPONSE, before the promise settles: a listener it adds then sees every later
 * frame, with no window in which one could slip past. Rejects on a record error about `name`,
 * on close, or after a timeout.
 */
export function subscribeRecord(ws: WebSocket, name: string, onRead: (version: number) => void = () => {}): Promise<number> {
  return new Promise((resolve, reject) => {
    let acked = false;
    const onMessage = (data: Buffer) => {
      const m = binaryCodec.decode(data);
      if (m === undefined || m.topic !== TOPIC.RECORD) return;
      if (m.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD && m.isAck === true) {
        acked = true;
      } else if (m.action === RECORD_ACTION.READ_RESPONSE && m.name === name) {
        done();
        if (!acked) return reject(new Error(`READ_RESPONSE for "${name}" before the SUBSCRIBECREATEANDREAD ack`));
        if (typeof m.version !== 'number') return reject(new Error(`READ_RESPONSE for "${name}" without a version`));
        onRead(m.version);
        resolve(m.version);
      } else if (m.isError === true || (m.action >= 100 && m.action !== RECORD_ACTION.MULTIPLE_SUBSCRIPTIONS)) {
        done();
        reject(new Error(`subscribing to "${name}": ${describe(m)}`));
      }
    };
    const onClose = () => {
      done();
      reject(new Error(`socket closed while subscribing to "${name}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no READ_RESPONSE for "${name}" within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: [name], correlationId: '1' }));
  });
}

/** Read position for readVarint. */
let at = 0;

/** The varint at `at` (advancing it); exact up to 2^53, which covers every int32 and length. */
function readVarint(frame: Uint8Array): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = frame[at++];
    if (byte === undefined) return NaN;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value;
    scale *= 128;
  }
}

/**
 * The `version` (field 13) of a RECORD frame, found by walking the protobuf fields of the inner
 * message without decoding them; -1 when the frame has none or does not parse. Envelope:
 * varint(length) 0x10 topic 0x1a varint(length) inner (see frameKind in raw-client.ts). A negative
 * int32 reads as a huge number, which no sequence check accepts.
 */
export function recordVersion(frame: Uint8Array): number {
  at = 0;
  readVarint(frame);
  if (frame[at] !== 0x10) return -1;
  at++;
  readVarint(frame); // topic
  if (frame[at] !== 0x1a) return -1;
  at++;
  const innerLength = readVarint(frame);
  const end = at + innerLength;
  if (!(end <= frame.length)) return -1;
  while (at < end) {
    const tag = readVarint(frame);
    const wire = tag % 8;
    if (wire === 0) {
      const value = readVarint(frame);
      if (tag === 13 * 8) return value;
    } else if (wire === 2) {
      const length = readVarint(frame); // read first: `at += readVarint()` would add to the old `at`
      at += length;
    } else {
      return -1; // no other wire types in RecordMessage
    }
    if (Number.isNaN(at)) return -1;
  }
  return -1;
}

/** "RECORD VERSION_EXISTS" and the like, for counting unexpected frames. */
export function kindName(m: Message | undefined): string {
  if (m === undefined) return 'undecodable frame';
  const topic = TOPIC[m.topic] ?? `topic ${m.topic}`;
  const action = m.topic === TOPIC.RECORD ? (RECORD_ACTION[m.action] ?? `action ${m.action}`) : `action ${m.action}`;
  return `${topic} ${action}`;
}

/** A short, readable form of a message for error samples. */
export function describe(m: Message | undefined): string {
  if (m === undefined) return 'undecodable frame';
  const fields: string[] = [];
  for (const key of ['name', 'version', 'originalAction', 'correlationId', 'isError', 'isWriteAck', 'path', 'data'] as const) {
    const value = m[key];
    if (value === undefined) continue;
    let text = key === 'originalAction' && typeof value === 'number' ? (RECORD_ACTION[value] ?? String(value)) : JSON.stringify(value);
    if (text.length > 80) text = `${text.slice(0, 77)}...`;
    fields.push(`${key}: ${text}`);
  }
  return `${kindName(m)} {${fields.join(', ')}}`;
}
