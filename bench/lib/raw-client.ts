/**
 * A minimal raw v7 protocol client for load generation: `ws` plus the kernel's `binaryCodec`, no
 * per-frame bookkeeping beyond what the caller adds. The official client is far too heavy to put
 * hundreds of connections in one process.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';

const STEP_TIMEOUT_MS = 10_000;
/** Handshakes in parallel when a worker opens many connections: thousands at once would time out. */
const CONNECT_CONCURRENCY = 50;
/** Keeps connections clear of the server's heartbeat sweep on long runs (PROTOCOL §6.3). */
const PING_INTERVAL_MS = 20_000;

/** Opens a WebSocket to `url`; rejects on error or after a timeout. */
export function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no WebSocket connection to ${url} within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Sends `message`, then resolves with the first decoded message that `match` accepts. */
export function request(ws: WebSocket, message: Message, match: (m: Message) => boolean, what: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const reply = binaryCodec.decode(data);
      if (reply === undefined || !match(reply)) return;
      done();
      resolve(reply);
    };
    const onClose = () => {
      done();
      reject(new Error(`socket closed while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${what} within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
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
  await request(
    ws,
    { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId: '1' },
    (m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.SUBSCRIBE && m.isAck === true,
    `EVENT SUBSCRIBE ack for "${name}"`,
  );
}

/** Calls `connect(0)` … `connect(count - 1)`, CONNECT_CONCURRENCY at a time. */
export async function connectInBatches(count: number, connect: (index: number) => Promise<void>): Promise<void> {
  for (let opened = 0; opened < count; opened += CONNECT_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - opened) }, (_, i) => connect(opened + i)));
  }
}

/** A protocol PING every PING_INTERVAL_MS on each connection the server has not closed. */
export function keepAlive(connections: ReadonlyArray<{ ws: WebSocket; closed?: boolean }>): void {
  const ping = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  setInterval(() => {
    for (const c of connections) if (c.closed !== true) c.ws.send(ping);
  }, PING_INTERVAL_MS).unref();
}

/** The net.Socket under a ws client (private in ws), to cork bursts of writes into one writev. */
export function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

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
/** The server's answer to our keep-alive PINGs. */
export const PONG_KIND = TOPIC.CONNECTION * 256 + CONNECTION_ACTION.PONG;

function skipVarint(frame: Buffer, i: number): number {
  while (i < frame.length && (frame[i] as number) & 0x80) i++;
  return i + 1;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A JSON object of exactly `bytes` bytes (at least 20). */
export function jsonPayload(bytes: number): string {
  const base = JSON.stringify({ bench: true, pad: '' });
  return JSON.stringify({ bench: true, pad: 'x'.repeat(Math.max(0, bytes - base.length)) });
}
