/**
 * RPC benchmark: round trips per second with one provider and 1, 10, 100 concurrent requesters
 * (raw protocol clients in worker processes), plus the sequential round-trip latency of the
 * official client, against a server started as a child process (open auth + RPC).
 *
 *   npx tsx --conditions=source bench/rpc.ts [--requesters 1,10,100] [--duration 5] [--warmup 1] [--payload 100]
 *                        [--accept 1] [--rounds 1000]
 *
 * Environment variables: BENCH_REQUESTERS, BENCH_DURATION, BENCH_WARMUP, BENCH_PAYLOAD,
 * BENCH_ACCEPT, BENCH_ROUNDS. Prints figures; asserts nothing. Compare within one run.
 *
 * Each requester connection is a closed loop with one call in flight (REQUEST → wait for the
 * RESPONSE → next REQUEST), so "N requesters" means N calls in flight. The provider answers each
 * REQUEST at once with ACCEPT and RESPONSE (the official client's `response.send`), echoing the
 * arguments. Per call the server decodes 3 frames (REQUEST, ACCEPT, RESPONSE) and encodes 3.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import { cpuSeconds } from './lib/cpu.ts';
import { deepstreamArgs, forkWorker, nextMessage, runBenchmark, sleep, startServer, stopWorkers, type Worker } from './lib/processes.ts';
import type { FromProvider, FromRequester, RequesterResult, ToProvider, ToRequester } from './lib/rpc-ipc.ts';

const { values: args } = parseArgs({
  options: {
    requesters: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    payload: { type: 'string' },
    accept: { type: 'string' },
    rounds: { type: 'string' },
  },
});

function number(name: keyof typeof args, env: string, fallback: number, min: number): number {
  const text = args[name] ?? process.env[env] ?? String(fallback);
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} / ${env}: expected a number >= ${min}, got "${text}"`);
  return value;
}

const REQUESTER_COUNTS = (args.requesters ?? process.env.BENCH_REQUESTERS ?? '1,10,100')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error(`--requesters: "${s}" is not an integer in 1..2000`);
    return n;
  });
const DURATION_MS = Math.round(number('duration', 'BENCH_DURATION', 5, 0.1) * 1000);
const WARMUP_MS = Math.round(number('warmup', 'BENCH_WARMUP', 1, 0) * 1000);
const PAYLOAD_BYTES = Math.floor(number('payload', 'BENCH_PAYLOAD', 100, 20));
const ACCEPT = number('accept', 'BENCH_ACCEPT', 1, 0) !== 0;
const ROUNDS = Math.floor(number('rounds', 'BENCH_ROUNDS', 1000, 0));
const SETUP_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------

interface Run {
  requesters: number;
  result: RequesterResult;
  callsPerSec: number;
  /** % of one core over the measured window. */
  serverCpu: number;
  providerCpu: number;
  requesterCpu: number;
}

async function throughput(url: string, provider: Worker<ToProvider>, requesters: number): Promise<Run> {
  const worker = forkWorker<ToRequester>('rpc-requester-worker.ts', [url, String(requesters), String(PAYLOAD_BYTES)]);
  try {
    await nextMessage<FromRequester, 'ready'>(worker, 'ready', SETUP_TIMEOUT_MS);
    await sleep(200); // let login work settle
    const pids = [serverPid, provider.pid ?? 0, worker.pid ?? 0];
    const measured = nextMessage<FromRequester, 'measured'>(worker, 'measured', WARMUP_MS + DURATION_MS + 30_000);
    const done = nextMessage<FromRequester, 'done'>(worker, 'done', WARMUP_MS + DURATION_MS + 60_000);
    void done.catch(() => {}); // awaited below
    worker.post({ type: 'go', warmupMs: WARMUP_MS, durationMs: DURATION_MS });
    await sleep(WARMUP_MS);
    const before = { at: performance.now(), cpu: pids.map(cpuSeconds) };
    await measured;
    const after = { at: performance.now(), cpu: pids.map(cpuSeconds) };
    const { result } = await done;
    const seconds = (after.at - before.at) / 1000;
    const cpu = (i: number) => (((after.cpu[i] ?? NaN) - (before.cpu[i] ?? NaN)) / seconds) * 100;
    return {
      requesters,
      result,
      callsPerSec: result.completed / (result.windowMs / 1000),
      serverCpu: cpu(0),
      providerCpu: cpu(1),
      requesterCpu: cpu(2),
    };
  } finally {
    await stopWorkers([worker]);
  }
}

interface RoundTrip {
  rounds: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Sequential `rpc.make` round trips between two official clients, after 100 warm-up calls. */
async function officialRoundTrip(url: string): Promise<RoundTrip> {
  const provider = new DeepstreamClient(url);
  const caller = new DeepstreamClient(url);
  try {
    for (const c of [provider, caller]) c.on('error', (error: unknown, event: unknown) => process.stderr.write(`[client] ${String(event)}: ${String(error)}\n`));
    await Promise.all([provider.login({}), caller.login({})]);
    provider.rpc.provide('echo', (data, response) => response.send(data));
    // PROVIDE travels in the client's next batch and has no promise: call until it is routed.
    const giveUp = Date.now() + 10_000;
    while ((await caller.rpc.make('echo', 0).catch(() => undefined)) !== 0) {
      if (Date.now() > giveUp) throw new Error('the official provider was not routed to within 10 s');
      await sleep(20);
    }
    const samples: number[] = [];
    for (let i = 0; i < 100 + ROUNDS; i++) {
      const start = performance.now();
      await caller.rpc.make('echo', { i });
      if (i >= 100) samples.push((performance.now() - start) * 1000);
    }
    samples.sort((a, b) => a - b);
    const at = (p: number) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)] as number;
    return { rounds: samples.length, min: samples[0] as number, p50: at(50), p90: at(90), p99: at(99), max: samples[samples.length - 1] as number };
  } finally {
    provider.close();
    caller.close();
  }
}

// ---------------------------------------------------------------------------------------------

const us = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);
const int = (v: number) => (Number.isNaN(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const pct = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(0)}%`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

let serverPid = 0;

async function main(): Promise<void> {
  console.log(
    `rpc benchmark: node ${process.version}, ${cpus().length} cores; ${REQUESTER_COUNTS.join('/')} requesters, ` +
      `${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured each, ${PAYLOAD_BYTES}-byte arguments echoed, ` +
      `provider ${ACCEPT ? 'sends ACCEPT then RESPONSE' : 'sends RESPONSE only'}; official client ${ROUNDS} sequential rounds`,
  );
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port, ['--config', 'bench/lib/rpc-config.ts']) });
  serverPid = server.pid;
  console.log(`server pid ${server.pid} at ${server.url}`);

  let rt: RoundTrip | undefined;
  if (ROUNDS > 0) {
    rt = await officialRoundTrip(server.url);
    console.log(`official client round trip: median ${us(rt.p50)}, p99 ${us(rt.p99)} over ${rt.rounds} calls`);
  }

  const provider = forkWorker<ToProvider>('rpc-provider-worker.ts', [server.url, ACCEPT ? '1' : '0']);
  await nextMessage<FromProvider, 'ready'>(provider, 'ready', SETUP_TIMEOUT_MS);
  const runs: Run[] = [];
  for (const n of REQUESTER_COUNTS) {
    const run = await throughput(server.url, provider, n);
    runs.push(run);
    const r = run.result;
    console.log(
      `${n} requester(s): ${int(run.callsPerSec)} calls/s (${int(r.completed)} in ${(r.windowMs / 1000).toFixed(1)} s), ` +
        `latency median ${us(r.latencyUs.p50)} p99 ${us(r.latencyUs.p99)}; CPU server ${pct(run.serverCpu)}, provider ${pct(run.providerCpu)}, ` +
        `requesters ${pct(run.requesterCpu)}; ${r.errors} errors${r.firstError === undefined ? '' : ` (first: ${r.firstError})`}, ${r.unanswered} unanswered, ` +
        `responses ${r.verified ? 'verified' : 'NOT VERIFIED'}`,
    );
    await sleep(300);
  }
  const answered = nextMessage<FromProvider, 'answered'>(provider, 'answered', 10_000).catch(() => undefined);
  await stopWorkers([provider]);
  const total = (await answered)?.count;

  console.log('\n=============================== SUMMARY ===============================');
  if (rt !== undefined) {
    console.log(`\nOfficial @deepstream/client, rpc.make → provider response.send, ${rt.rounds} sequential calls:`);
    console.log(table(['', 'min', 'median', 'p90', 'p99', 'max'], [['round trip', us(rt.min), us(rt.p50), us(rt.p90), us(rt.p99), us(rt.max)]]));
  }
  console.log(`\nThroughput, 1 raw provider, raw requesters with one call in flight each, ${DURATION_MS / 1000} s measured:`);
  console.log(
    table(
      ['requesters', 'calls/s', 'median', 'p90', 'p99', 'max', 'server CPU', 'server CPU/call', 'provider CPU', 'requesters CPU', 'errors', 'check'],
      runs.map((run) => [
        String(run.requesters),
        int(run.callsPerSec),
        us(run.result.latencyUs.p50),
        us(run.result.latencyUs.p90),
        us(run.result.latencyUs.p99),
        us(run.result.latencyUs.max),
        pct(run.serverCpu),
        us((run.serverCpu / 100 / run.callsPerSec) * 1e6),
        pct(run.providerCpu),
        pct(run.requesterCpu),
        String(run.result.errors + run.result.unanswered),
        run.result.verified ? 'ok' : 'BAD',
      ]),
    ),
  );
  console.log(`CPU: % of one core over the measured window (${cpus().length} cores shared by all processes); server CPU/call: server CPU time per completed call.`);
  console.log(`Closed loops through one provider move in convoys as in-flight calls grow: while the server works the provider waits,`);
  console.log(`and the other way round. When the CPU columns add up to well under ${cpus().length * 100}%, calls/s measures that, not a saturated server.`);
  if (total !== undefined) console.log(`The provider answered ${int(total)} calls in all (warm-ups included).`);
  if (server.warnings.length > 0) console.log(`\nthe server printed ${server.warnings.length} warning line(s)`);
}

const HARD_LIMIT_MS = 180_000 + REQUESTER_COUNTS.length * (WARMUP_MS + DURATION_MS + 2 * SETUP_TIMEOUT_MS) + ROUNDS * 50;
await runBenchmark('benchmark', HARD_LIMIT_MS, main);
