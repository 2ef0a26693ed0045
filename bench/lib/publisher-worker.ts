/**
 * Fan-out publisher worker: one raw connection that emits EVENT 'bench' as fast as it may, for
 * the duration the parent asks. argv: url payloadBytes
 *
 * Held back by backpressure (ws.bufferedAmount) and, unless maxLagMs is 0, by flow control
 * (flow-control.ts): emits not yet received by every subscriber stay under the measured delivery
 * rate × maxLagMs. Progress comes from the subscriber workers through the parent.
 */
import { EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { drained, Progress, sendFor } from './flow-control.ts';
import { jsonPayload, login, wallNow } from './raw-client.ts';
import type { FromPublisher, ToPublisher } from './ipc.ts';

const [url, payloadArg] = process.argv.slice(2);

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

/** Delivered-everywhere watermark, relayed by the parent from the subscriber workers. */
const progress = new Progress();

async function run(durationMs: number, maxLagMs: number): Promise<void> {
  if (ws === undefined) return;
  const startAt = wallNow();
  const { sent: emitted, ...waits } = await sendFor(ws, { durationMs, maxLagMs, progress, frame: () => frame });
  const sendEndAt = wallNow();
  send({ type: 'sent', emitted });
  await drained(ws);
  send({ type: 'done', result: { emitted, startAt, sendEndAt, drainedAt: wallNow(), ...waits } });
}

process.on('message', (message: ToPublisher) => {
  if (message.type === 'progress') progress.advance(message.delivered);
  else if (message.type === 'go') void run(message.durationMs, message.maxLagMs);
  else if (message.type === 'stop') {
    ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => {
  ws?.terminate();
  process.exit(0);
});
