/**
 * RPC benchmark: calls per second with one provider and 1, 10, 100 requesters with one call in
 * flight each (raw clients in worker processes; the provider answers ACCEPT + RESPONSE echoing the
 * arguments), and the official client's sequential round trip (see bench/README.md).
 *   npx tsx --conditions=source bench/rpc.ts [--requesters 1,10,100] [--duration 5] [--warmup 1] [--payload 100] [--accept 1] [--rounds 1000]
 */
import { cpus } from 'node:os';
import { DeepstreamClient } from '@deepstream/client';
import { cli } from './lib/args.ts';
import { percentile } from './lib/checks.ts';
import { deepstreamArgs, forkWorker, nextMessage, runBenchmark, SETUP_TIMEOUT_MS, sleep, startServer, stopWorkers } from './lib/proc.ts';
import { f, summary, table } from './lib/report.ts';
import { rpcProblems, rpcRun, type RpcRun } from './lib/runs.ts';

const cores = cpus().length;
const opt = cli({ requesters: 'BENCH_REQUESTERS', duration: 'BENCH_DURATION', warmup: 'BENCH_WARMUP', payload: 'BENCH_PAYLOAD', accept: 'BENCH_ACCEPT', rounds: 'BENCH_ROUNDS' });
const REQUESTER_COUNTS = opt.ints('requesters', '1,10,100', 1, 2000);
const DURATION_MS = Math.round(opt.num('duration', 5, 0.1) * 1000);
const WARMUP_MS = Math.round(opt.num('warmup', 1) * 1000);
const PAYLOAD_BYTES = opt.int('payload', 100, 20);
const ACCEPT = opt.num('accept', 1) !== 0;
const ROUNDS = opt.int('rounds', 1000);

/** Sequential `rpc.make` round trips between two official clients, after 100 warm-up calls; µs each. */
async function officialRoundTrip(url: string): Promise<number[]> {
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
    return samples;
  } finally {
    provider.close();
    caller.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `rpc benchmark: node ${process.version}, ${cores} cores; ${REQUESTER_COUNTS.join('/')} requesters, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured each, ` +
      `${PAYLOAD_BYTES}-byte arguments echoed, provider ${ACCEPT ? 'sends ACCEPT then RESPONSE' : 'sends RESPONSE only'}; official client ${ROUNDS} sequential rounds`,
  );
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port, ['--config', 'bench/lib/rpc-config.ts']) });
  console.log(`server pid ${server.pid} at ${server.url}`);
  const rt = ROUNDS > 0 ? summary(await officialRoundTrip(server.url)) : undefined;
  if (rt !== undefined) console.log(`official client round trip: median ${f.us(rt.p50)}, p99 ${f.us(rt.p99)} over ${ROUNDS} calls`);

  const provider = forkWorker({ role: 'rpc-provider', url: server.url, accept: ACCEPT });
  await nextMessage(provider, 'ready');
  const runs: Array<RpcRun & { requesters: number }> = [];
  for (const n of REQUESTER_COUNTS) {
    const run = { ...(await rpcRun({ url: server.url, provider, requesters: n, payloadBytes: PAYLOAD_BYTES, warmupMs: WARMUP_MS, durationMs: DURATION_MS, pids: [server.pid] })), requesters: n };
    runs.push(run);
    const r = run.result;
    const [serverCpu, providerCpu, requesterCpu] = run.cpu.map((v) => f.pct(v, 0));
    console.log(
      `${n} requester(s): ${f.count(run.callsPerSec)} calls/s (${f.count(r.completed)} in ${(r.windowMs / 1000).toFixed(1)} s), latency median ${f.us(percentile(r.latency, 50))} p99 ${f.us(percentile(r.latency, 99))}; ` +
        `CPU server ${serverCpu}, provider ${providerCpu}, requesters ${requesterCpu}; ${r.errors} errors${r.firstError === undefined ? '' : ` (first: ${r.firstError})`}, ${r.unanswered} unanswered, ` +
        `responses ${r.verified ? 'verified' : 'NOT VERIFIED'}`,
    );
    await sleep(300);
  }
  const answered = nextMessage(provider, 'answered', 10_000).catch(() => undefined);
  await stopWorkers([provider]);
  const total = (await answered)?.count;

  console.log('\n=============================== SUMMARY ===============================');
  if (rt !== undefined) {
    console.log(`\nOfficial @deepstream/client, rpc.make → provider response.send, ${ROUNDS} sequential calls:`);
    console.log(table(['', 'min', 'median', 'p90', 'p99', 'max'], [['round trip', ...[rt.min, rt.p50, rt.p90, rt.p99, rt.max].map(f.us)]]));
  }
  console.log(`\nThroughput, 1 raw provider, raw requesters with one call in flight each, ${DURATION_MS / 1000} s measured:`);
  console.log(
    table(
      ['requesters', 'calls/s', 'median', 'p90', 'p99', 'max', 'server CPU', 'server CPU/call', 'provider CPU', 'requesters CPU', 'errors', 'check'],
      runs.map((run) => [
        String(run.requesters), f.count(run.callsPerSec), ...[50, 90, 99].map((p) => f.us(percentile(run.result.latency, p))), f.us(run.result.latency.max),
        f.pct(run.cpu[0] ?? NaN, 0), f.us(run.serverUsPerCall), f.pct(run.cpu[1] ?? NaN, 0), f.pct(run.cpu[2] ?? NaN, 0), String(run.result.errors + run.result.unanswered), rpcProblems(run.result).length === 0 ? 'ok' : 'BAD',
      ]),
    ),
  );
  console.log(`CPU: % of one core over the measured window (${cores} cores shared by all processes); server CPU/call: server CPU time per completed call.`);
  console.log(`Closed loops through one provider move in convoys as in-flight calls grow: while the server works the provider waits,`);
  console.log(`and the other way round. When the CPU columns add up to well under ${cores * 100}%, calls/s measures that, not a saturated server.`);
  if (total !== undefined) console.log(`The provider answered ${f.count(total)} calls in all (warm-ups included).`);
  if (server.warnings.length > 0) console.log(`\nthe server printed ${server.warnings.length} warning line(s)`);
}

await runBenchmark('benchmark', 180_000 + REQUESTER_COUNTS.length * (WARMUP_MS + DURATION_MS + 2 * SETUP_TIMEOUT_MS) + ROUNDS * 50, main);
