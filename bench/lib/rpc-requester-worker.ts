/**
 * RPC benchmark requesters: N raw connections, each a closed loop with one call in flight: send
 * REQUEST 'bench', wait for its RESPONSE, send the next. Frames are told apart by their first
 * bytes; each connection's first RESPONSE is decoded and checked in full.
 * argv: url connections payloadBytes
 *
 * Every connection reuses one pre-encoded REQUEST (its own correlationId): with one call in
 * flight per connection an id is free again once its RESPONSE is out, and the load generator
 * spends its CPU on sending, not on encoding.
 */
import type { WebSocket } from 'ws';
import { RPC_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { connectInBatches, frameKind, jsonPayload, login } from './raw-client.ts';
import type { FromRequester, RequesterResult, ToRequester } from './rpc-ipc.ts';

const [url, countArg, payloadArg] = process.argv.slice(2);
const count = Number(countArg);
const payload = jsonPayload(Number(payloadArg));
const DRAIN_TIMEOUT_MS = 5_000;
/** Latency samples kept per run; beyond that a uniform reservoir sample. */
const MAX_SAMPLES = 200_000;

const RESPONSE_KIND = TOPIC.RPC * 256 + RPC_ACTION.RESPONSE;
const ACCEPT_KIND = TOPIC.RPC * 256 + RPC_ACTION.ACCEPT;
const send = (message: FromRequester) => process.send?.(message);

interface Requester {
  ws: WebSocket;
  frame: Uint8Array;
  correlationId: string;
  sentAt: number;
  inFlight: boolean;
  checked: boolean;
}

type Phase = 'idle' | 'warmup' | 'measuring' | 'draining';
let phase: Phase = 'idle';
let completed = 0;
const latencies: number[] = [];
let errors = 0;
let firstError: string | undefined;
let verified = true;

function check(requester: Requester, data: Buffer): void {
  requester.checked = true;
  const m = binaryCodec.decode(data);
  if (m?.topic === TOPIC.RPC && m.action === RPC_ACTION.RESPONSE && m.name === 'bench' && m.correlationId === requester.correlationId && m.data === payload) return;
  verified = false;
  process.stderr.write(`requester worker: unexpected first RESPONSE ${JSON.stringify(m)}\n`);
}

function onFrame(requester: Requester, data: Buffer): void {
  const kind = frameKind(data);
  if (kind === ACCEPT_KIND) return;
  if (kind !== RESPONSE_KIND) {
    if (kind >> 8 === TOPIC.RPC) {
      errors++;
      firstError ??= JSON.stringify(binaryCodec.decode(data));
      requester.inFlight = false;
      fire(requester);
    }
    return;
  }
  const now = performance.now();
  if (!requester.checked) check(requester, data);
  requester.inFlight = false;
  if (phase === 'measuring') {
    completed++;
    // Reservoir sampling keeps memory bounded on long, fast runs.
    const us = (now - requester.sentAt) * 1000;
    if (latencies.length < MAX_SAMPLES) latencies.push(us);
    else {
      const slot = Math.floor(Math.random() * completed);
      if (slot < MAX_SAMPLES) latencies[slot] = us;
    }
  }
  fire(requester);
}

function fire(requester: Requester): void {
  if (phase !== 'warmup' && phase !== 'measuring') return;
  requester.inFlight = true;
  requester.sentAt = performance.now();
  requester.ws.send(requester.frame);
}

const requesters: Requester[] = [];
try {
  await connectInBatches(count, async () => {
    const ws = await login(url as string);
    const correlationId = `r${requesters.length}`;
    const frame = binaryCodec.encode({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'bench', correlationId, data: payload });
    const requester: Requester = { ws, frame, correlationId, sentAt: 0, inFlight: false, checked: false };
    ws.on('error', () => {});
    ws.on('close', () => {
      if (phase !== 'idle' && phase !== 'draining') send({ type: 'error', message: 'a requester connection was closed by the server' });
    });
    ws.on('message', (data: Buffer) => onFrame(requester, data));
    requesters.push(requester);
  });
  send({ type: 'ready', connections: requesters.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function run(warmupMs: number, durationMs: number): Promise<void> {
  phase = 'warmup';
  for (const r of requesters) fire(r);
  await sleep(warmupMs);
  phase = 'measuring';
  const start = performance.now();
  await sleep(durationMs);
  phase = 'draining';
  const windowMs = performance.now() - start;
  send({ type: 'measured' });
  const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
  while (requesters.some((r) => r.inFlight) && performance.now() < giveUp) await sleep(5);
  const result: RequesterResult = {
    connections: requesters.length,
    completed,
    windowMs,
    latencyUs: summarize(latencies.sort((a, b) => a - b)),
    errors,
    firstError,
    unanswered: requesters.filter((r) => r.inFlight).length,
    verified: verified && requesters.every((r) => r.checked),
  };
  send({ type: 'done', result });
}

function summarize(sorted: number[]): RequesterResult['latencyUs'] {
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { min: sorted[0] ?? NaN, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? NaN };
}

process.on('message', (message: ToRequester) => {
  if (message.type === 'go') void run(message.warmupMs, message.durationMs);
  else {
    phase = 'idle';
    for (const r of requesters) r.ws.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});
