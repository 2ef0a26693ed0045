/**
 * Event publisher for bench/compare.ts: one raw connection emitting sequence-numbered,
 * timestamped EVENT EMITs (seq-payload.ts), either on one name (`fanout`: 'bench') or round robin
 * over `count` names (`topics`: t0000, t0001, …, each with its own sequence).
 * argv: url mode(fanout|topics) count payloadBytes
 *
 * Flow control as in publisher-worker.ts (flow-control.ts). With a `rate`, emits leave on a
 * schedule (rate per second), never in bursts to catch up more than one 256-emit batch.
 */
import { drained, Progress, sendFor } from './flow-control.ts';
import { login } from './raw-client.ts';
import { EmitTemplate, monoMs, monoUs, topicName } from './seq-payload.ts';
import type { FromComparePublisher, ToComparePublisher } from './compare-ipc.ts';

const [url, mode, countArg, payloadArg] = process.argv.slice(2) as [string, string, string, string];

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

/** Delivered-everywhere watermark, relayed by the parent from the subscriber workers. */
const progress = new Progress();

async function run(durationMs: number, maxLagMs: number, rate: number): Promise<void> {
  if (ws === undefined) return;
  const startAt = monoMs();
  const topicCount = templates.length;
  let ts = 0; // one timestamp per batch
  const { sent: emitted, ...waits } = await sendFor(ws, {
    durationMs,
    maxLagMs,
    rate,
    progress,
    beforeBatch: () => (ts = monoUs()),
    frame: (i) => (templates[i % topicCount] as EmitTemplate).stamp(Math.floor(i / topicCount) + 1, ts),
  });
  const sendEndAt = monoMs();
  send({ type: 'sent', emitted });
  await drained(ws);
  send({ type: 'done', result: { emitted, startAt, sendEndAt, ...waits } });
}

process.on('message', (message: ToComparePublisher) => {
  if (message.type === 'progress') progress.advance(message.delivered);
  else if (message.type === 'go') void run(message.durationMs, message.maxLagMs, message.rate);
  else if (message.type === 'stop') {
    ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => {
  ws?.terminate();
  process.exit(0);
});
