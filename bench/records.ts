/**
 * Records benchmark: record writes per second fanned out to 1, 10 and 100 subscribers, with raw
 * protocol clients in worker processes, against a server (records plugin + SQLite storage)
 * started as a separate child process.
 *
 *   npx tsx --conditions=source bench/records.ts [--subscribers 1,10,100] [--duration 5] [--warmup 1] [--payload 100] [--sub-workers 2]
 *                            [--max-lag 300] [--storage sqlite|sqlite-memory|none] [--variants plain,ack]
 *
 * Every option can also be given as an environment variable: BENCH_SUBSCRIBERS, BENCH_DURATION,
 * BENCH_WARMUP, BENCH_PAYLOAD, BENCH_SUB_WORKERS, BENCH_MAX_LAG, BENCH_STORAGE, BENCH_VARIANTS. See bench/README.md.
 * Prints figures; it asserts nothing. Compare ratios within one run, not numbers across runs.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/cpu.ts';
import { relayProgress, settle, SETTLE_MAX_MS } from './lib/flow-control.ts';
import { askCounts, deepstreamArgs, forkWorker, nextMessage, onStop, runBenchmark, sleep, startServer, stopWorkers, type ServerProcess, type Worker } from './lib/processes.ts';
import { mergeRecordSubscriberCounts } from './lib/record-ipc.ts';
import type {
  FromRecordSubscriber,
  FromRecordWriter,
  RecordSubscriberCounts,
  RecordWriterCounts,
  RecordWriterResult,
  ToRecordSubscriber,
  ToRecordWriter,
} from './lib/record-ipc.ts';

const cores = cpus().length;
const RECORD_NAME = 'bench/record';

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    payload: { type: 'string' },
    'sub-workers': { type: 'string' },
    'max-lag': { type: 'string' },
    storage: { type: 'string' },
    variants: { type: 'string' },
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
function list(name: keyof typeof args, env: string, fallback: string): string[] {
  return option(name, env, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const SUBSCRIBER_COUNTS = list('subscribers', 'BENCH_SUBSCRIBERS', '1,10,100').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 5000) throw new Error(`--subscribers: "${s}" is not an integer in 1..5000`);
  return n;
});
const DURATION_MS = Math.round(integer('duration', 'BENCH_DURATION', 5, 0.1) * 1000);
/** Seconds of unreported writing per variant before the measured runs (the server's JIT warms up). */
const WARMUP_MS = Math.round(integer('warmup', 'BENCH_WARMUP', 1, 0) * 1000);
const PAYLOAD_BYTES = Math.floor(integer('payload', 'BENCH_PAYLOAD', 100, 20));
const SUB_WORKERS = Math.floor(integer('sub-workers', 'BENCH_SUB_WORKERS', 2, 1));
/** Writer flow control: ms of completions allowed in flight; 0 = only ws.bufferedAmount backpressure. */
const MAX_LAG_MS = integer('max-lag', 'BENCH_MAX_LAG', 300, 0);
const STORAGE = option('storage', 'BENCH_STORAGE', 'sqlite');
if (!['sqlite', 'sqlite-memory', 'none'].includes(STORAGE)) throw new Error(`--storage / BENCH_STORAGE: expected sqlite, sqlite-memory or none, got "${STORAGE}"`);
type Variant = 'plain' | 'ack';
const VARIANTS = list('variants', 'BENCH_VARIANTS', 'plain,ack').map((v): Variant => {
  if (v !== 'plain' && v !== 'ack') throw new Error(`--variants / BENCH_VARIANTS: "${v}" is neither plain nor ack`);
  return v;
});

const SETUP_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// The server

/** The temporary directory of the SQLite file (--storage sqlite); removed on the way out. */
let tempDir: string | undefined;

/** The server under test, started once with bench/records.config.ts and the storage asked for. */
async function startRecordsServer(): Promise<ServerProcess & { storage: string }> {
  const env: NodeJS.ProcessEnv = { BENCH_STORAGE: STORAGE === 'none' ? 'none' : 'sqlite' };
  let storage = 'none (records plugin memory cache only)';
  if (STORAGE === 'sqlite') {
    const dir = (tempDir = mkdtempSync(join(tmpdir(), 'deepstream-bench-records-')));
    onStop(() => rmSync(dir, { recursive: true, force: true })); // once the server has closed the database
    env.BENCH_SQLITE_FILE = join(dir, 'records.sqlite');
    storage = `SQLite file ${env.BENCH_SQLITE_FILE}`;
  } else if (STORAGE === 'sqlite-memory') {
    env.BENCH_SQLITE_FILE = ':memory:';
    storage = 'SQLite :memory:';
  }
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port, ['--config', 'bench/records.config.ts']), env });
  return { ...server, storage };
}

// ---------------------------------------------------------------------------------------------
// One run: N subscribers, one writer, plain or acknowledged writes

interface Run {
  subscribers: number;
  variant: Variant;
  written: number;
  writesPerSec: number;
  delivered: number;
  /** Deliveries over the whole run: first write to last delivery, drain included. */
  deliveriesPerSec: number;
  /** Deliveries that arrived while the writer was writing, per second of that window. */
  deliveriesInWindowPerSec: number;
  acked: number;
  /** Acknowledgements from the first write to the last ack (ack variant only; NaN otherwise). */
  ackedPerSec: number;
  /** delivered / (written × subscribers). */
  ratio: number;
  /** ms from the writer's last write to the last delivery or ack. */
  drainMs: number;
  /** % of one core, from the first write to the last delivery/ack (busySec). */
  serverCpu: number;
  loadCpu: number;
  loadCpuParts: number[];
  busySec: number;
  startVersion: number;
  /** Subscribers whose READ_RESPONSE version differed from the writer's (should be none). */
  startVersionMismatch: string | undefined;
  /** Subscribers holding the writer's final version at the end / all subscribers. */
  atFinalVersion: boolean;
  lastVersionMin: number;
  lastVersionMax: number;
  gaps: number;
  missing: number;
  backwards: number;
  gapSamples: string[];
  /** Unexpected frames at the subscribers and at the writer, by kind. */
  subscriberOther: Record<string, number>;
  subscriberOtherSamples: string[];
  writer: RecordWriterCounts;
  closedByServer: number;
  verified: boolean;
  backpressureWaits: number;
  windowWaits: number;
  maxInFlight: number;
}

const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function runOnce(server: ServerProcess, subscribers: number, variant: Variant, durationMs = DURATION_MS): Promise<Run> {
  const ack = variant === 'ack';
  const workerCount = Math.min(SUB_WORKERS, subscribers);
  const subWorkers: Array<Worker<ToRecordSubscriber>> = [];
  let writer: Worker<ToRecordWriter> | undefined;
  try {
    for (let w = 0; w < workerCount; w++) {
      const share = Math.floor(subscribers / workerCount) + (w < subscribers % workerCount ? 1 : 0);
      subWorkers.push(forkWorker<ToRecordSubscriber>('record-subscriber-worker.ts', [server.url, String(share), String(PAYLOAD_BYTES), RECORD_NAME]));
    }
    // Subscribers first, all of them holding their READ_RESPONSE before the writer exists: every
    // one of them must then see every write, and nothing else writes the record meanwhile.
    const subReady = await Promise.all(subWorkers.map((w) => nextMessage<FromRecordSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)));
    writer = forkWorker<ToRecordWriter>('record-writer-worker.ts', [server.url, String(PAYLOAD_BYTES), RECORD_NAME]);
    const wr = writer;
    const writerReady = await nextMessage<FromRecordWriter, 'ready'>(wr, 'ready', SETUP_TIMEOUT_MS);
    const startVersionMin = Math.min(...subReady.map((r) => r.startVersionMin));
    const startVersionMax = Math.max(...subReady.map((r) => r.startVersionMax));
    const startVersionMismatch =
      startVersionMin !== writerReady.version || startVersionMax !== writerReady.version
        ? `subscribers read v${startVersionMin}..v${startVersionMax}, the writer v${writerReady.version}`
        : undefined;

    // The delivered-everywhere watermark (the slowest worker's) feeds the writer's flow control.
    relayProgress(subWorkers, (delivered) => wr.post({ type: 'progress', delivered }), (m: FromRecordSubscriber) => (m.type === 'progress' ? m.delivered : undefined));
    await sleep(200); // let connection setup work finish everywhere

    const report = async () => mergeRecordSubscriberCounts(await Promise.all(subWorkers.map((w) => askCounts<RecordSubscriberCounts>(w))));
    const writerCounts = () => askCounts<RecordWriterCounts>(wr);
    const loadPids = [process.pid, wr.pid ?? 0, ...subWorkers.map((w) => w.pid ?? 0)];
    const sample = () => ({ wall: performance.now(), server: cpuSeconds(server.pid), load: loadPids.map(cpuSeconds) });

    const start = sample();
    const sent = nextMessage<FromRecordWriter, 'sent'>(wr, 'sent', durationMs + 30_000);
    const done = nextMessage<FromRecordWriter, 'done'>(wr, 'done', durationMs + 60_000);
    void done.catch(() => {}); // awaited below; a failure before then surfaces through `sent`
    wr.post({ type: 'go', durationMs, maxLagMs: MAX_LAG_MS, ack });
    await sent;
    const windowEnd = sample();
    const inWindow = await report();
    const result: RecordWriterResult = (await done).result;

    // Deliveries (and acks) still in flight: wait until complete, or until counts go flat.
    const expected = result.written * subscribers;
    const { busyEnd } = await settle({
      report: async () => Promise.all([report(), writerCounts()]),
      sample,
      complete: ([c, w]) => c.received >= expected && (!ack || w.acked >= result.written),
      moved: ([c0, w0], [c1, w1]) => c0.received !== c1.received || w0.acked !== w1.acked,
      pollMs: 50,
    });
    await sleep(100); // anything after the last expected frame (a late error) still gets counted
    const counts = await report();
    const wc = await writerCounts();

    const busySec = (busyEnd.wall - start.wall) / 1000;
    const windowSec = (windowEnd.wall - start.wall) / 1000;
    const finalVersion = result.startVersion + result.written;
    const lastAt = Math.max(counts.lastAt, ack ? wc.lastAckAt : 0);
    return {
      subscribers,
      variant,
      written: result.written,
      writesPerSec: result.written / ((result.sendEndAt - result.startAt) / 1000),
      delivered: counts.received,
      deliveriesPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
      deliveriesInWindowPerSec: inWindow.received / windowSec,
      acked: wc.acked,
      ackedPerSec: !ack ? NaN : wc.acked > 0 ? wc.acked / ((wc.lastAckAt - result.startAt) / 1000) : 0,
      ratio: expected > 0 ? counts.received / expected : NaN,
      drainMs: lastAt > 0 ? Math.max(0, lastAt - result.sendEndAt) : NaN,
      serverCpu: ((busyEnd.server - start.server) / busySec) * 100,
      loadCpu: ((sumOf(busyEnd.load) - sumOf(start.load)) / busySec) * 100,
      loadCpuParts: busyEnd.load.map((v, i) => ((v - (start.load[i] ?? 0)) / busySec) * 100),
      busySec,
      startVersion: result.startVersion,
      startVersionMismatch,
      atFinalVersion: counts.lastVersionMin === finalVersion && counts.lastVersionMax === finalVersion,
      lastVersionMin: counts.lastVersionMin,
      lastVersionMax: counts.lastVersionMax,
      gaps: counts.gaps,
      missing: counts.missing,
      backwards: counts.backwards,
      gapSamples: counts.gapSamples,
      subscriberOther: counts.other,
      subscriberOtherSamples: counts.otherSamples,
      writer: wc,
      closedByServer: counts.closed,
      verified: counts.verified,
      backpressureWaits: result.backpressureWaits,
      windowWaits: result.windowWaits,
      maxInFlight: result.maxInFlight,
    };
  } finally {
    await stopWorkers([...subWorkers, writer]);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const rate = (v: number) => (Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US'));
const pct = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(1)}%`);
const tally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([kind, n]) => `${n} × ${kind}`)
    .join(', ');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Everything that is not as it should be, in a few words ('ok' when nothing). */
function problems(r: Run): string[] {
  const found: string[] = [];
  if (r.gaps > 0) found.push(`${r.gaps} version gap(s) (${r.missing} missing, ${r.backwards} backwards)`);
  if (!r.verified) found.push('BAD FIRST BROADCAST');
  if (r.startVersionMismatch !== undefined) found.push(`start versions differ: ${r.startVersionMismatch}`);
  if (!r.atFinalVersion) found.push(`subscribers end at v${r.lastVersionMin}..v${r.lastVersionMax}, not v${r.startVersion + r.written}`);
  if (Object.keys(r.writer.errors).length > 0) found.push(`writer got ${tally(r.writer.errors)}`);
  if (Object.keys(r.subscriberOther).length > 0) found.push(`subscribers got ${tally(r.subscriberOther)}`);
  if (r.writer.acksOutOfOrder > 0) found.push(`${r.writer.acksOutOfOrder} ack(s) out of order`);
  if (r.variant === 'ack' && r.acked !== r.written) found.push(`${r.acked} of ${r.written} writes acknowledged`);
  if (r.closedByServer > 0) found.push(`${r.closedByServer} subscriber(s) dropped`);
  if (r.writer.closed) found.push('writer connection closed');
  return found;
}

function storageSizes(): string | undefined {
  if (tempDir === undefined) return undefined;
  try {
    const dir = tempDir;
    return readdirSync(dir)
      .map((file) => `${file} ${(statSync(join(dir, file)).size / 1024).toFixed(0)} KiB`)
      .join(', ');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(
    `records benchmark: node ${process.version}, ${cores} cores; record "${RECORD_NAME}", PATCH path "value" with a ${PAYLOAD_BYTES}-byte JSON value; ` +
      `${SUBSCRIBER_COUNTS.join('/')} subscribers, variants ${VARIANTS.join('/')}, ${DURATION_MS / 1000} s each after ${WARMUP_MS / 1000} s of warm-up per variant, ` +
      `${SUB_WORKERS} subscriber worker process(es), flow control ${MAX_LAG_MS > 0 ? `${MAX_LAG_MS} ms` : 'off'}`,
  );
  const server = await startRecordsServer();
  console.log(`server pid ${server.pid} at ${server.url}; storage: ${server.storage}`);

  if (WARMUP_MS > 0) {
    const n = Math.min(10, Math.max(...SUBSCRIBER_COUNTS));
    for (const variant of VARIANTS) {
      const w = await runOnce(server, n, variant, WARMUP_MS);
      const found = problems(w);
      console.log(
        `warm-up (${n} subscribers, ${variant}, ${WARMUP_MS / 1000} s, not reported): ${rate(w.writesPerSec)} writes/s, ` +
          `${found.length === 0 ? 'ok' : `PROBLEMS: ${found.join('; ')}`}`,
      );
    }
  }

  const runs: Run[] = [];
  for (const n of SUBSCRIBER_COUNTS) {
    for (const variant of VARIANTS) {
      console.log(`\n1 writer → ${n} subscriber(s), ${variant === 'ack' ? 'PATCH with isWriteAck' : 'plain PATCH'}, ${DURATION_MS / 1000} s...`);
      const r = await runOnce(server, n, variant);
      runs.push(r);
      const found = problems(r);
      console.log(
        `  v${r.startVersion} → v${r.startVersion + r.written}: written ${rate(r.written)} (${rate(r.writesPerSec)}/s); delivered ${rate(r.delivered)} ` +
          `(${rate(r.deliveriesPerSec)}/s overall, ${rate(r.deliveriesInWindowPerSec)}/s while writing); ratio ${r.ratio.toFixed(4)}` +
          (r.variant === 'ack' ? `; acknowledged ${rate(r.acked)} (${rate(r.ackedPerSec)}/s)` : '') +
          `; drain ${Number.isNaN(r.drainMs) ? 'n/a' : `${r.drainMs.toFixed(0)} ms`}; ` +
          `server CPU ${pct(r.serverCpu)}, load generators ${pct(r.loadCpu)} (${r.loadCpuParts.map(pct).join(' + ')} = this script + writer + subscriber workers) over ${r.busySec.toFixed(1)} s; ` +
          `${r.backpressureWaits} backpressure / ${r.windowWaits} flow-control waits, at most ${rate(r.maxInFlight)} writes in flight; ` +
          (found.length === 0 ? 'every subscriber saw every version in order, first broadcast verified' : `PROBLEMS: ${found.join('; ')}`),
      );
      for (const s of r.gapSamples.slice(0, 5)) console.log(`  gap: ${s}`);
      for (const s of r.writer.errorSamples) console.log(`  writer received: ${s}`);
      for (const s of r.subscriberOtherSamples.slice(0, 5)) console.log(`  subscriber received: ${s}`);
      await sleep(500);
    }
  }
  const sizes = storageSizes();

  console.log('\n=============================== SUMMARY ===============================');
  console.log(`\nRecord writes, 1 raw writer (PATCH, ${PAYLOAD_BYTES}-byte value) for ${DURATION_MS / 1000} s per run; storage: ${server.storage}`);
  console.log(
    table(
      ['subscribers', 'variant', 'writes/s', 'deliveries/s', '(while writing)', 'acked writes/s', 'ratio', 'drain', 'server CPU', 'loadgen CPU', 'gaps', 'errors / checks'],
      runs.map((r) => {
        const found = problems(r).filter((p) => !p.includes('version gap'));
        return [
          String(r.subscribers),
          r.variant === 'ack' ? 'ack' : 'plain',
          rate(r.writesPerSec),
          rate(r.deliveriesPerSec),
          rate(r.deliveriesInWindowPerSec),
          rate(r.ackedPerSec),
          r.ratio.toFixed(4),
          Number.isNaN(r.drainMs) ? 'n/a' : `${r.drainMs.toFixed(0)} ms`,
          pct(r.serverCpu),
          pct(r.loadCpu),
          String(r.gaps),
          found.length === 0 ? 'ok' : found.join('; '),
        ];
      }),
    ),
  );
  console.log(`writes: plain = PATCH, ack = PATCH with isWriteAck (acknowledged after the storage commit); deliveries/s: broadcasts received, all`);
  console.log(`subscribers, first write to last delivery; ratio: delivered / (written x subscribers); drain: last delivery or ack after the last write;`);
  console.log(`CPU: % of one core from the first write to the last delivery/ack (${cores} cores shared); gaps: broadcasts whose version was not previous + 1.`);
  if (sizes !== undefined) console.log(`SQLite files at the end: ${sizes}`);
  const slowConsumerDrops = server.warnings.filter((line) => line.includes('slow consumer')).length;
  if (server.warnings.length > 0) console.log(`\nserver printed ${server.warnings.length} warning line(s), ${slowConsumerDrops} slow-consumer drop(s)`);
}

// A hard bound on the whole run, whatever happens.
const HARD_LIMIT_MS =
  120_000 + VARIANTS.length * ((WARMUP_MS > 0 ? 1 : 0) + SUBSCRIBER_COUNTS.length) * (DURATION_MS + 2 * SETUP_TIMEOUT_MS + SETTLE_MAX_MS + 10_000);
await runBenchmark('benchmark', HARD_LIMIT_MS, main);
