/**
 * Events benchmark: round-trip latency with the official client, and fan-out throughput with raw
 * protocol clients in worker processes, against a server started as a separate child process.
 *
 *   npx tsx --conditions=source bench/events.ts [--subscribers 10,100,1000] [--duration 5] [--rounds 1000] [--warmup 200]
 *                           [--payload 100] [--sub-workers 2] [--max-lag 300]
 *
 * Every option can also be given as an environment variable: BENCH_SUBSCRIBERS, BENCH_DURATION,
 * BENCH_ROUNDS, BENCH_WARMUP, BENCH_PAYLOAD, BENCH_SUB_WORKERS, BENCH_MAX_LAG. See bench/README.md.
 * Prints figures; it asserts nothing. Compare ratios within one run, not numbers across runs.
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { DeepstreamClient } from '@deepstream/client';
import { cpuSeconds } from './lib/cpu.ts';
import { addConnections, noConnections } from './lib/connection-counts.ts';
import { relayProgress, settle, SETTLE_MAX_MS } from './lib/flow-control.ts';
import type { FromPublisher, FromSubscriber, PublisherResult, SubscriberCounts, ToPublisher, ToSubscriber } from './lib/ipc.ts';
import { askCounts, deepstreamArgs, forkWorker, nextMessage, runBenchmark, sleep, startServer, stopWorkers, type ServerProcess, type Worker } from './lib/processes.ts';

const cores = cpus().length;

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    payload: { type: 'string' },
    'sub-workers': { type: 'string' },
    'max-lag': { type: 'string' },
  },
});

function option(name: keyof typeof args, env: string, fallback: string): string {
  return args[name] ?? process.env[env] ?? fallback;
}
function integer(name: keyof typeof args, env: string, fallback: number, min: number): number {
  const text = option(name, env, String(fallback));
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} / ${env}: expected a number >= ${min}, got "${text}"`);
  return value;
}

const SUBSCRIBER_COUNTS = option('subscribers', 'BENCH_SUBSCRIBERS', '10,100,1000')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 5000) throw new Error(`--subscribers: "${s}" is not an integer in 1..5000`);
    return n;
  });
const DURATION_MS = Math.round(integer('duration', 'BENCH_DURATION', 5, 0.1) * 1000);
const ROUNDS = Math.floor(integer('rounds', 'BENCH_ROUNDS', 1000, 0));
const WARMUP = Math.floor(integer('warmup', 'BENCH_WARMUP', 200, 0));
const PAYLOAD_BYTES = Math.floor(integer('payload', 'BENCH_PAYLOAD', 100, 20));
const SUB_WORKERS = Math.floor(integer('sub-workers', 'BENCH_SUB_WORKERS', 2, 1));
/** Publisher flow control: ms of deliveries allowed in flight; 0 = only ws.bufferedAmount backpressure. */
const MAX_LAG_MS = integer('max-lag', 'BENCH_MAX_LAG', 300, 0);

/** Per round trip; a lost pong fails the round, too many losses abort the section. */
const ROUND_TIMEOUT_MS = 2_000;
const SETUP_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Round trip with the official client

interface RoundTrip {
  rounds: number;
  lost: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  minUs: number;
  maxUs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function roundTrip(url: string): Promise<RoundTrip> {
  const a = new DeepstreamClient(url);
  const b = new DeepstreamClient(url);
  try {
    for (const c of [a, b]) c.on('error', (error: unknown, event: unknown) => process.stderr.write(`[client] ${String(event)}: ${String(error)}\n`));
    await Promise.all([a.login({}), b.login({})]);

    let waiting: { seq: number; resolve: () => void } | undefined;
    a.event.subscribe('pong', (data) => {
      if (waiting !== undefined && data === waiting.seq) waiting.resolve();
    });
    b.event.subscribe('ping', (data) => b.event.emit('pong', data));

    const once = (seq: number, timeout: number) =>
      new Promise<boolean>((done) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          done(false);
        }, timeout);
        waiting = {
          seq,
          resolve: () => {
            clearTimeout(timer);
            waiting = undefined;
            done(true);
          },
        };
        a.event.emit('ping', seq);
      });

    // Subscriptions travel asynchronously and have no promise: ping until the first pong.
    const primeUntil = Date.now() + 10_000;
    while (!(await once(-1, 100))) {
      if (Date.now() > primeUntil) throw new Error('no pong within 10 s: subscriptions did not reach the server');
    }

    const samples: number[] = [];
    let lost = 0;
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const start = process.hrtime.bigint();
      const ok = await once(i, ROUND_TIMEOUT_MS);
      const elapsedUs = Number(process.hrtime.bigint() - start) / 1000;
      if (!ok) {
        if (++lost > 10) throw new Error('more than 10 round trips lost');
        continue;
      }
      if (i >= WARMUP) samples.push(elapsedUs);
    }
    samples.sort((x, y) => x - y);
    return {
      rounds: samples.length,
      lost,
      medianUs: percentile(samples, 50),
      p90Us: percentile(samples, 90),
      p99Us: percentile(samples, 99),
      minUs: samples[0] ?? NaN,
      maxUs: samples[samples.length - 1] ?? NaN,
    };
  } finally {
    a.close();
    b.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Fan-out with raw clients in worker processes

interface FanOut {
  subscribers: number;
  workers: number;
  emitted: number;
  emittedPerSec: number;
  delivered: number;
  /** Deliveries over the whole run: first emit to last delivery, drain included. */
  deliveredPerSec: number;
  /** Deliveries that arrived while the publisher was emitting, per second of that window. */
  deliveredInWindowPerSec: number;
  ratio: number;
  /** ms from the publisher's last emit to the last delivery anywhere. */
  drainMs: number;
  /** Fewest / most messages one subscriber got, as a fraction of those emitted. */
  minShare: number;
  maxShare: number;
  /** % of one core, from the first emit to the last delivery (busySec). */
  serverCpu: number;
  loadCpu: number;
  /** Load generator CPU by process: this script, the publisher, each subscriber worker. */
  loadCpuParts: number[];
  busySec: number;
  closedByServer: number;
  otherFrames: number;
  verified: boolean;
  backpressureWaits: number;
  windowWaits: number;
  maxInFlight: number;
}

const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

function sum(counts: SubscriberCounts[]): SubscriberCounts {
  const total: SubscriberCounts = { ...noConnections(), other: 0 };
  for (const c of counts) {
    addConnections(total, c);
    total.other += c.other;
  }
  return total;
}

async function fanOut(server: ServerProcess, subscribers: number): Promise<FanOut> {
  const workerCount = Math.min(SUB_WORKERS, subscribers);
  const subWorkers: Array<Worker<ToSubscriber>> = [];
  let publisher: Worker<ToPublisher> | undefined;
  try {
    for (let w = 0; w < workerCount; w++) {
      const share = Math.floor(subscribers / workerCount) + (w < subscribers % workerCount ? 1 : 0);
      subWorkers.push(forkWorker<ToSubscriber>('subscriber-worker.ts', [server.url, String(share), String(PAYLOAD_BYTES)]));
    }
    publisher = forkWorker<ToPublisher>('publisher-worker.ts', [server.url, String(PAYLOAD_BYTES)]);
    const pub = publisher;
    // The delivered-everywhere watermark (the slowest worker's) feeds the publisher's flow control.
    relayProgress(subWorkers, (delivered) => pub.post({ type: 'progress', delivered }), (m: FromSubscriber) => (m.type === 'progress' ? m.delivered : undefined));
    await Promise.all([
      ...subWorkers.map((w) => nextMessage<FromSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)),
      nextMessage<FromPublisher, 'ready'>(pub, 'ready', SETUP_TIMEOUT_MS),
    ]);
    await sleep(200); // let connection setup work finish everywhere

    const report = async () => sum(await Promise.all(subWorkers.map((w) => askCounts<SubscriberCounts>(w))));
    const loadPids = [process.pid, pub.pid ?? 0, ...subWorkers.map((w) => w.pid ?? 0)];
    const loadCpu = () => loadPids.map(cpuSeconds);

    const sample = () => ({ wall: performance.now(), server: cpuSeconds(server.pid), load: loadCpu() });

    const start = sample();
    const sent = nextMessage<FromPublisher, 'sent'>(pub, 'sent', DURATION_MS + 30_000);
    const done = nextMessage<FromPublisher, 'done'>(pub, 'done', DURATION_MS + 60_000);
    void done.catch(() => {}); // awaited below; a failure before then surfaces through `sent`
    pub.post({ type: 'go', durationMs: DURATION_MS, maxLagMs: MAX_LAG_MS });
    await sent;
    const windowEnd = sample();
    const inWindow = await report();
    const result: PublisherResult = (await done).result;

    // Deliveries still in flight: wait until every subscriber has everything, or counts go flat.
    const expected = result.emitted * subscribers;
    const { counts, busyEnd } = await settle({ report, sample, complete: (c) => c.received >= expected, moved: (a, b) => a.received !== b.received, pollMs: 50 });

    const busySec = (busyEnd.wall - start.wall) / 1000;
    const windowSec = (windowEnd.wall - start.wall) / 1000;
    return {
      subscribers,
      workers: workerCount,
      emitted: result.emitted,
      emittedPerSec: result.emitted / ((result.sendEndAt - result.startAt) / 1000),
      delivered: counts.received,
      deliveredPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
      deliveredInWindowPerSec: inWindow.received / windowSec,
      ratio: expected > 0 ? counts.received / expected : NaN,
      drainMs: counts.lastAt > 0 ? Math.max(0, counts.lastAt - result.sendEndAt) : NaN,
      minShare: result.emitted > 0 ? counts.minPerConnection / result.emitted : NaN,
      maxShare: result.emitted > 0 ? counts.maxPerConnection / result.emitted : NaN,
      serverCpu: ((busyEnd.server - start.server) / busySec) * 100,
      loadCpu: ((sumOf(busyEnd.load) - sumOf(start.load)) / busySec) * 100,
      loadCpuParts: busyEnd.load.map((v, i) => ((v - (start.load[i] ?? 0)) / busySec) * 100),
      busySec,
      closedByServer: counts.closed,
      otherFrames: counts.other,
      verified: counts.verified,
      backpressureWaits: result.backpressureWaits,
      windowWaits: result.windowWaits,
      maxInFlight: result.maxInFlight,
    };
  } finally {
    await stopWorkers([...subWorkers, publisher]);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const us = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);
const rate = (v: number) => (Number.isNaN(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const pct = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(1)}%`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(
    `events benchmark: node ${process.version}, ${cores} cores; ` +
      `round trip ${ROUNDS} (+${WARMUP} warm-up); fan-out to ${SUBSCRIBER_COUNTS.join('/')} subscribers, ` +
      `${DURATION_MS / 1000} s each, ${PAYLOAD_BYTES}-byte payload, ${SUB_WORKERS} subscriber worker process(es), ` +
      `flow control ${MAX_LAG_MS > 0 ? `${MAX_LAG_MS} ms` : 'off'}`,
  );
  // The default config (deepstream.config.ts): open auth, events.
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port) });
  console.log(`server pid ${server.pid} at ${server.url}`);

  let rt: RoundTrip | undefined;
  if (ROUNDS > 0) {
    console.log(`\nround trip: official client A emits 'ping', B answers 'pong'...`);
    rt = await roundTrip(server.url);
    console.log(`  median ${us(rt.medianUs)}, p90 ${us(rt.p90Us)}, p99 ${us(rt.p99Us)} over ${rt.rounds} rounds (${rt.lost} lost)`);
  }

  const fan: FanOut[] = [];
  for (const n of SUBSCRIBER_COUNTS) {
    console.log(`\nfan-out: 1 publisher → ${n} subscriber(s), ${DURATION_MS / 1000} s...`);
    const f = await fanOut(server, n);
    fan.push(f);
    console.log(
      `  emitted ${rate(f.emitted)} (${rate(f.emittedPerSec)}/s); delivered ${rate(f.delivered)} ` +
        `(${rate(f.deliveredPerSec)}/s overall, ${rate(f.deliveredInWindowPerSec)}/s while emitting); ratio ${f.ratio.toFixed(4)}, ` +
        `per subscriber ${f.minShare.toFixed(3)}..${f.maxShare.toFixed(3)}; drain ${f.drainMs.toFixed(0)} ms; ` +
        `server CPU ${pct(f.serverCpu)}, load generators ${pct(f.loadCpu)} (${f.loadCpuParts.map(pct).join(' + ')} = this script + publisher + subscriber workers) over ${f.busySec.toFixed(1)} s; ` +
        `${f.backpressureWaits} backpressure / ${f.windowWaits} flow-control waits, at most ${rate(f.maxInFlight)} emits in flight; ${f.closedByServer} dropped; ${f.otherFrames} non-EMIT frames; ` +
        `first EMIT of every subscriber ${f.verified ? 'verified' : 'NOT VERIFIED'}`,
    );
    await sleep(500);
  }

  console.log('\n=============================== SUMMARY ===============================');
  if (rt !== undefined) {
    console.log(`\nRound trip, official @deepstream/client, ${rt.rounds} sequential rounds after ${WARMUP} warm-up (${rt.lost} lost):`);
    console.log(
      table(
        ['', 'min', 'median', 'p90', 'p99', 'max'],
        [
          ['round trip', us(rt.minUs), us(rt.medianUs), us(rt.p90Us), us(rt.p99Us), us(rt.maxUs)],
          ['one-way (half)', us(rt.minUs / 2), us(rt.medianUs / 2), us(rt.p90Us / 2), us(rt.p99Us / 2), us(rt.maxUs / 2)],
        ],
      ),
    );
  }
  if (fan.length > 0) {
    console.log(`\nFan-out, 1 raw publisher for ${DURATION_MS / 1000} s, ${PAYLOAD_BYTES}-byte JSON payload:`);
    console.log(
      table(
        ['subscribers', 'emitted/s', 'delivered/s', '(while emitting)', 'ratio', 'drain', 'server CPU', 'loadgen CPU', 'dropped', 'check'],
        fan.map((f) => [
          String(f.subscribers),
          rate(f.emittedPerSec),
          rate(f.deliveredPerSec),
          rate(f.deliveredInWindowPerSec),
          f.ratio.toFixed(4),
          Number.isNaN(f.drainMs) ? 'n/a' : `${f.drainMs.toFixed(0)} ms`,
          pct(f.serverCpu),
          pct(f.loadCpu),
          String(f.closedByServer),
          f.verified && f.otherFrames === 0 ? 'ok' : f.verified ? `${f.otherFrames} other frames` : 'BAD FRAME',
        ]),
      ),
    );
    console.log(`delivered/s: all deliveries from the first emit to the last delivery; ratio: delivered / (emitted x subscribers);`);
    console.log(`drain: last delivery after the last emit; CPU: % of one core from the first emit to the last delivery (${cores} cores shared).`);
  }
  const slowConsumerDrops = server.warnings.filter((line) => line.includes('slow consumer')).length;
  if (server.warnings.length > 0) console.log(`\nserver printed ${server.warnings.length} warning line(s), ${slowConsumerDrops} slow-consumer drop(s)`);
}

// A hard bound on the whole run, whatever happens.
const HARD_LIMIT_MS = 120_000 + (WARMUP + ROUNDS) * 50 + SUBSCRIBER_COUNTS.length * (DURATION_MS + 2 * SETUP_TIMEOUT_MS + SETTLE_MAX_MS);
await runBenchmark('benchmark', HARD_LIMIT_MS, main);
