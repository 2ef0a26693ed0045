/**
 * Events benchmark: round-trip latency with the official client, and fan-out throughput with raw
 * clients in worker processes, against a server started as a child process (see bench/README.md).
 *   npx tsx --conditions=source bench/events.ts [--subscribers 10,100,1000] [--duration 5] [--rounds 1000] [--warmup 200]
 *                           [--payload 100] [--sub-workers 2] [--max-lag 300]
 */
import { cpus } from 'node:os';
import { DeepstreamClient } from '@deepstream/client';
import { cli } from './lib/args.ts';
import { SETTLE_MAX_MS } from './lib/flow-control.ts';
import { deepstreamArgs, runBenchmark, SETUP_TIMEOUT_MS, sleep, startServer, type ServerProcess } from './lib/proc.ts';
import { f, sumOf, summary, table } from './lib/report.ts';
import { fanoutRun } from './lib/runs.ts';

const cores = cpus().length;
const opt = cli({ subscribers: 'BENCH_SUBSCRIBERS', duration: 'BENCH_DURATION', rounds: 'BENCH_ROUNDS', warmup: 'BENCH_WARMUP', payload: 'BENCH_PAYLOAD', 'sub-workers': 'BENCH_SUB_WORKERS', 'max-lag': 'BENCH_MAX_LAG' });
const SUBSCRIBER_COUNTS = opt.ints('subscribers', '10,100,1000', 1, 5000);
const DURATION_MS = Math.round(opt.num('duration', 5, 0.1) * 1000);
const ROUNDS = opt.int('rounds', 1000);
const WARMUP = opt.int('warmup', 200);
const PAYLOAD_BYTES = opt.int('payload', 100, 48);
const SUB_WORKERS = opt.int('sub-workers', 2, 1);
const MAX_LAG_MS = opt.num('max-lag', 300); // Publisher flow control: ms of deliveries allowed in flight; 0 = only ws.bufferedAmount backpressure.
const ROUND_TIMEOUT_MS = 2_000; // Per round trip; a lost pong fails the round, too many losses abort the section.

/** Official clients A and B: A emits 'ping', B answers 'pong' with the same data; sequential, µs per round. */
async function roundTrip(url: string): Promise<{ samples: number[]; lost: number }> {
  const a = new DeepstreamClient(url);
  const b = new DeepstreamClient(url);
  try {
    for (const c of [a, b]) c.on('error', (error: unknown, event: unknown) => process.stderr.write(`[client] ${String(event)}: ${String(error)}\n`));
    await Promise.all([a.login({}), b.login({})]);
    let waiting: { seq: number; resolve: () => void } | undefined;
    a.event.subscribe('pong', (data) => data === waiting?.seq && waiting.resolve());
    b.event.subscribe('ping', (data) => b.event.emit('pong', data));
    const once = (seq: number, timeout: number) =>
      new Promise<boolean>((done) => {
        const timer = setTimeout(() => ((waiting = undefined), done(false)), timeout);
        waiting = { seq, resolve: () => (clearTimeout(timer), (waiting = undefined), done(true)) };
        a.event.emit('ping', seq);
      });
    // Subscriptions travel asynchronously and have no promise: ping until the first pong.
    const primeUntil = Date.now() + 10_000;
    while (!(await once(-1, 100))) if (Date.now() > primeUntil) throw new Error('no pong within 10 s: subscriptions did not reach the server');
    const samples: number[] = [];
    let lost = 0;
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const start = process.hrtime.bigint();
      const ok = await once(i, ROUND_TIMEOUT_MS);
      const elapsedUs = Number(process.hrtime.bigint() - start) / 1000;
      if (!ok && ++lost > 10) throw new Error('more than 10 round trips lost');
      if (ok && i >= WARMUP) samples.push(elapsedUs);
    }
    return { samples, lost };
  } finally {
    a.close();
    b.close();
  }
}

const fanOut = (server: ServerProcess, subscribers: number) =>
  fanoutRun({ sendUrl: server.url, subUrl: () => server.url, subscribers, subWorkers: SUB_WORKERS, payloadBytes: PAYLOAD_BYTES, durationMs: DURATION_MS, maxLagMs: MAX_LAG_MS, pids: [server.pid], pollMs: 50 });

async function main(): Promise<void> {
  console.log(
    `events benchmark: node ${process.version}, ${cores} cores; round trip ${ROUNDS} (+${WARMUP} warm-up); fan-out to ${SUBSCRIBER_COUNTS.join('/')} subscribers, ` +
      `${DURATION_MS / 1000} s each, ${PAYLOAD_BYTES}-byte payload, ${SUB_WORKERS} subscriber worker process(es), flow control ${MAX_LAG_MS > 0 ? `${MAX_LAG_MS} ms` : 'off'}`,
  );
  // The default config (deepstream.config.ts): open auth, events.
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port) });
  console.log(`server pid ${server.pid} at ${server.url}`);

  let rt: ReturnType<typeof summary> & { rounds: number; lost: number } | undefined;
  if (ROUNDS > 0) {
    console.log(`\nround trip: official client A emits 'ping', B answers 'pong'...`);
    const { samples, lost } = await roundTrip(server.url);
    rt = { ...summary(samples), rounds: samples.length, lost };
    console.log(`  median ${f.us(rt.p50)}, p90 ${f.us(rt.p90)}, p99 ${f.us(rt.p99)} over ${rt.rounds} rounds (${rt.lost} lost)`);
  }

  const rows: string[][] = [];
  for (const n of SUBSCRIBER_COUNTS) {
    console.log(`\nfan-out: 1 publisher → ${n} subscriber(s), ${DURATION_MS / 1000} s...`);
    const r = await fanOut(server, n);
    const { counts: c, result } = r;
    const ratio = r.expected > 0 ? c.received / r.expected : NaN;
    const inWindowPerSec = r.inWindow.received / r.windowSec;
    const drainMs = c.lastAt > 0 ? Math.max(0, c.lastAt - result.sendEndAt) : NaN;
    const other = sumOf(Object.values(c.other));
    const load = sumOf(r.loadCpu);
    console.log(
      `  emitted ${f.count(result.sent)} (${f.count(r.sentPerSec)}/s); delivered ${f.count(c.received)} (${f.count(r.deliveredPerSec)}/s overall, ` +
        `${f.count(inWindowPerSec)}/s while emitting); ratio ${ratio.toFixed(4)}, per subscriber ${(c.minPerConnection / result.sent).toFixed(3)}..${(c.maxPerConnection / result.sent).toFixed(3)}; drain ${f.wholeMs(drainMs)}; ` +
        `server CPU ${f.pct(r.cpu[0] ?? NaN)}, load generators ${f.pct(load)} (${r.loadCpu.map((v) => f.pct(v)).join(' + ')} = this script + publisher + subscriber workers) over ${r.busySec.toFixed(1)} s; ` +
        `${result.backpressureWaits} backpressure / ${result.windowWaits} flow-control waits, at most ${f.count(result.maxInFlight)} emits in flight; ${c.closed} dropped; ` +
        `${other} non-EMIT frames; ${c.gaps} gaps, ${c.backwards} repeats, ${c.bad} bad frames; first EMIT of every subscriber ${c.verified ? 'verified' : 'NOT VERIFIED'}`,
    );
    for (const s of c.samples.slice(0, 3)) console.log(`  ${s}`);
    const check = !c.verified ? 'BAD FRAME' : c.gaps + c.backwards + c.bad > 0 ? 'SEQUENCE' : other > 0 ? `${other} other frames` : 'ok';
    rows.push([String(n), f.count(r.sentPerSec), f.count(r.deliveredPerSec), f.count(inWindowPerSec), ratio.toFixed(4), f.wholeMs(drainMs), f.pct(r.cpu[0] ?? NaN), f.pct(load), String(c.closed), check]);
    await sleep(500);
  }

  console.log('\n=============================== SUMMARY ===============================');
  if (rt !== undefined) {
    console.log(`\nRound trip, official @deepstream/client, ${rt.rounds} sequential rounds after ${WARMUP} warm-up (${rt.lost} lost):`);
    const row = (label: string, k: number) => [label, ...[rt.min, rt.p50, rt.p90, rt.p99, rt.max].map((v) => f.us(v / k))];
    console.log(table(['', 'min', 'median', 'p90', 'p99', 'max'], [row('round trip', 1), row('one-way (half)', 2)]));
  }
  if (rows.length > 0) {
    console.log(`\nFan-out, 1 raw publisher for ${DURATION_MS / 1000} s, ${PAYLOAD_BYTES}-byte JSON payload:`);
    console.log(table(['subscribers', 'emitted/s', 'delivered/s', '(while emitting)', 'ratio', 'drain', 'server CPU', 'loadgen CPU', 'dropped', 'check'], rows));
    console.log(`delivered/s: all deliveries from the first emit to the last delivery; ratio: delivered / (emitted x subscribers);`);
    console.log(`drain: last delivery after the last emit; CPU: % of one core from the first emit to the last delivery (${cores} cores shared).`);
  }
  const slowConsumerDrops = server.warnings.filter((line) => line.includes('slow consumer')).length;
  if (server.warnings.length > 0) console.log(`\nserver printed ${server.warnings.length} warning line(s), ${slowConsumerDrops} slow-consumer drop(s)`);
}

// A hard bound on the whole run, whatever happens.
await runBenchmark('benchmark', 120_000 + (WARMUP + ROUNDS) * 50 + SUBSCRIBER_COUNTS.length * (DURATION_MS + 2 * SETUP_TIMEOUT_MS + SETTLE_MAX_MS), main);
