/**
 * The one raw v7 protocol client of the load generators: `ws` plus the kernel's `binaryCodec`, the
 * handshake and login, event and record subscriptions, and reading a frame's kind and a record
 * broadcast's version from its bytes without a full decode. The official client is far too heavy
 * to put thousands of connections in one process.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';

const STEP_TIMEOUT_MS = 10_000;
const CONNECT_CONCURRENCY = 50; // Handshakes in parallel when a worker opens many connections: thousands at once would time out.
export const PING_INTERVAL_MS = 20_000; // Keeps connections clear of the server's heartbeat sweep on long runs (PROTOCOL §6.3).

/** Opens a WebSocket to `url`; rejects on error or after a timeout. */
export function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error(`no WebSocket connection to ${url} within ${STEP_TIMEOUT_MS} ms`))), STEP_TIMEOUT_MS);
    ws.once('open', () => (clearTimeout(timer), resolve(ws)));
    ws.once('error', (error) => (clearTimeout(timer), reject(error)));
  });
}

/**
 * Sends `message`, then resolves with the first decoded message that `match` accepts (true); an
 * Error from `match` rejects. `match` runs in the message handler: what it does there (add a
 * listener) sees every later frame. Rejects on close or after a timeout.
 */
export function request(ws: WebSocket, message: Message, match: (m: Message) => boolean | Error, what: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const finish = (error: Error | undefined, reply?: Message) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (error === undefined) resolve(reply as Message);
      else reject(error);
    };
    const onMessage = (data: Buffer) => {
      const reply = binaryCodec.decode(data);
      const verdict = reply !== undefined && match(reply);
      if (verdict !== false) finish(verdict === true ? undefined : verdict, reply);
    };
    const onClose = () => finish(new Error(`socket closed while waiting for ${what}`));
    const timer = setTimeout(() => finish(new Error(`no ${what} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(binaryCodec.encode(message));
  });
}

/** CONNECTION CHALLENGE → ACCEPT, then AUTH REQUEST {} → AUTH_SUCCESSFUL (PROTOCOL §6.1). */
export async function login(url: string): Promise<WebSocket> {
  const ws = await open(url);
  try {
    await request(
      ws,
      { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url, protocolVersion: '0.1a', sdkVersion: 'bench', sdkType: 'bench' },
      (m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT,
      'CONNECTION ACCEPT',
    );
    const reply = await request(ws, { topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' }, (m) => m.topic === TOPIC.AUTH, 'AUTH reply');
    if (reply.action !== AUTH_ACTION.AUTH_SUCCESSFUL) throw new Error(`login refused: AUTH action ${reply.action}`);
    return ws;
  } catch (error) {
    ws.terminate();
    throw error;
  }
}

/** EVENT SUBSCRIBE {names:[name], correlationId:'1'}; resolves on the ack. */
export async function subscribe(ws: WebSocket, name: string): Promise<void> {
  const message = { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId: '1' };
  await request(ws, message, (m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.SUBSCRIBE && m.isAck === true, `EVENT SUBSCRIBE ack for "${name}"`);
}

/** Calls `connect(0)` … `connect(count - 1)`, CONNECT_CONCURRENCY at a time. */
export async function connectInBatches(count: number, connect: (index: number) => Promise<void>): Promise<void> {
  for (let opened = 0; opened < count; opened += CONNECT_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - opened) }, (_, i) => connect(opened + i)));
  }
}

/** A protocol PING every `intervalMs` on each connection the server has not closed. */
export function keepAlive(connections: ReadonlyArray<{ ws: WebSocket; closed?: boolean }>, intervalMs = PING_INTERVAL_MS): void {
  const ping = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  setInterval(() => {
    for (const c of connections) if (c.closed !== true) c.ws.send(ping);
  }, intervalMs).unref();
}

/** The net.Socket under a ws client (private in ws), to cork bursts of writes into one writev. */
export const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

/**
 * Topic and action of a frame, read from the first bytes only (no protobuf decode): the envelope
 * is varint(length) 0x10 topic 0x1a varint(length) and the inner message starts with 0x08 action,
 * as protobufjs writes fields in field-number order. Returns -1 when the frame does not look so.
 */
export function frameKind(frame: Buffer): number {
  let i = skipVarint(frame, 0);
  if (frame[i] !== 0x10) return -1;
  const topic = frame[i + 1];
  if (topic === undefined || topic > 0x7f || frame[i + 2] !== 0x1a) return -1;
  i = skipVarint(frame, i + 3);
  if (frame[i] !== 0x08) return -1;
  const action = frame[i + 1];
  if (action === undefined || action > 0x7f) return -1;
  return topic * 256 + action;
}

export const EVENT_EMIT_KIND = TOPIC.EVENT * 256 + EVENT_ACTION.EMIT;
export const PONG_KIND = TOPIC.CONNECTION * 256 + CONNECTION_ACTION.PONG; // The server's answer to our keep-alive PINGs.
export const RECORD_UPDATE_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.UPDATE;
export const RECORD_PATCH_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.PATCH;
export const WRITE_ACK_KIND = TOPIC.RECORD * 256 + RECORD_ACTION.WRITE_ACKNOWLEDGEMENT;

function skipVarint(frame: Buffer, i: number): number {
  while (i < frame.length && (frame[i] as number) & 0x80) i++;
  return i + 1;
}

/** performance.now() mapped onto the monotonic clock (process.hrtime), in µs: comparable across the processes of the machine. */
const hrBaseUs = (() => {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3 - performance.now() * 1000;
})();
export const monoUs = () => hrBaseUs + performance.now() * 1000;
export const monoMs = () => monoUs() / 1000;

/**
 * Drops a connection with a TCP RST instead of a FIN: no TIME_WAIT entry is left on the loopback.
 * Thousands of them per run measurably slow down later runs' socket writes on this machine.
 */
export function resetSocket(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy();
  else ws.terminate();
}

/** A JSON object of exactly `bytes` bytes (at least 20). */
export function jsonPayload(bytes: number): string {
  const base = JSON.stringify({ bench: true, pad: '' });
  return JSON.stringify({ bench: true, pad: 'x'.repeat(Math.max(0, bytes - base.length)) });
}

/**
 * SUBSCRIBECREATEANDREAD {names:[name], correlationId:'1'} (RECORDS §2.1); resolves with the
 * version of the READ_RESPONSE that follows the ack. `onRead` runs inside the message handler that
 * saw the READ_RESPONSE: a listener it adds sees every later frame. Rejects on a record error.
 */
export async function subscribeRecord(ws: WebSocket, name: string, onRead: (version: number) => void = () => {}): Promise<number> {
  let acked = false;
  const message = { topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: [name], correlationId: '1' };
  const reply = await request(ws, message, (m) => {
    if (m.topic !== TOPIC.RECORD) return false;
    if (m.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD && m.isAck === true) return !(acked = true);
    if (m.action === RECORD_ACTION.READ_RESPONSE && m.name === name) {
      if (!acked) return new Error(`READ_RESPONSE for "${name}" before the SUBSCRIBECREATEANDREAD ack`);
      if (typeof m.version !== 'number') return new Error(`READ_RESPONSE for "${name}" without a version`);
      onRead(m.version);
      return true;
    }
    return m.isError === true || (m.action >= 100 && m.action !== RECORD_ACTION.MULTIPLE_SUBSCRIPTIONS) ? new Error(`subscribing to "${name}": ${describe(m)}`) : false;
  }, `READ_RESPONSE for "${name}"`);
  return reply.version as number;
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
