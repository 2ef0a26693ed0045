/**
 * Fan-out subscriber worker: opens N raw connections, logs each in, subscribes to 'bench', then
 * counts EVENT EMIT frames without decoding them (each connection's first one is decoded and checked).
 * argv: url count payloadBytes
 */
import type { WebSocket } from 'ws';
import { EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { reportSlowest } from './flow-control.ts';
import { connectInBatches, EVENT_EMIT_KIND, frameKind, jsonPayload, keepAlive, login, PONG_KIND, subscribe, wallNow } from './raw-client.ts';
import type { FromSubscriber, SubscriberCounts, ToSubscriber } from './ipc.ts';

const [url, countArg, payloadArg] = process.argv.slice(2);
const count = Number(countArg);
const expectedPayload = jsonPayload(Number(payloadArg));

const send = (message: FromSubscriber) => process.send?.(message);

interface Subscriber {
  ws: WebSocket;
  received: number;
  closed: boolean;
}

/** Decodes a connection's first EMIT in full: it must be EVENT EMIT 'bench' with the sent payload. */
function verify(data: Buffer): boolean {
  const m = binaryCodec.decode(data);
  const ok = m?.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === 'bench' && m.data === expectedPayload;
  if (!ok && !reportedBadFrame) {
    reportedBadFrame = true;
    process.stderr.write(`subscriber worker: first EMIT frame is not EVENT EMIT 'bench': ${JSON.stringify(m)}\n`);
  }
  return ok;
}

const subscribers: Subscriber[] = [];
let other = 0;
let firstAt = 0;
let lastAt = 0;
let closed = 0;
let verified = true;
let reportedBadFrame = false;
let stopping = false;

function counter(subscriber: Subscriber) {
  return (data: Buffer) => {
    const kind = frameKind(data);
    if (kind !== EVENT_EMIT_KIND) {
      if (kind !== PONG_KIND) other++;
      return;
    }
    lastAt = wallNow();
    if (subscriber.received++ === 0) {
      if (firstAt === 0) firstAt = lastAt;
      if (!verify(data)) verified = false;
    }
  };
}

async function connectOne(): Promise<void> {
  const ws = await login(url as string);
  await subscribe(ws, 'bench');
  const subscriber: Subscriber = { ws, received: 0, closed: false };
  subscribers.push(subscriber);
  ws.on('message', counter(subscriber));
  ws.on('close', () => {
    subscriber.closed = true;
    if (!stopping) closed++;
  });
  ws.on('error', () => {});
}

function counts(): SubscriberCounts {
  let min = Infinity;
  let max = 0;
  let received = 0;
  for (const s of subscribers) {
    received += s.received;
    min = Math.min(min, s.received);
    max = Math.max(max, s.received);
  }
  return {
    connections: subscribers.length,
    received,
    other,
    minPerConnection: subscribers.length === 0 ? 0 : min,
    maxPerConnection: max,
    firstAt,
    lastAt,
    closed,
    verified,
  };
}

function stop(): void {
  stopping = true;
  for (const s of subscribers) s.ws.terminate();
  process.exit(0);
}

process.on('message', (message: ToSubscriber) => {
  if (message.type === 'report') send({ type: 'counts', counts: counts() });
  else if (message.type === 'stop') stop();
});
process.on('disconnect', stop); // the parent is gone

try {
  await connectInBatches(count, connectOne);
  keepAlive(subscribers);
  reportSlowest(subscribers, (delivered) => send({ type: 'progress', delivered }));
  send({ type: 'ready', connections: subscribers.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
