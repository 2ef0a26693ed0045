/**
 * Records benchmark: writes to one record per second fanned out to 1, 10 and 100 subscribers (raw
 * clients in worker processes), against a server with the records plugin + SQLite storage (see bench/README.md).
 *   npx tsx --conditions=source bench/records.ts [--subscribers 1,10,100] [--duration 5] [--warmup 1] [--payload 100] [--sub-workers 2]
 *                            [--max-lag 300] [--storage sqlite|sqlite-memory|none] [--variants plain,ack]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './lib/args.ts';
import { SETTLE_MAX_MS } from './lib/flow-control.ts';
import { deepstreamArgs, onStop, runBenchmark, SETUP_TIMEOUT_MS, sleep, startServer, type ServerProcess } from './lib/proc.ts';
import { f, fileSizes, sumOf, table } from './lib/report.ts';
import { fanoutRun, fanoutProblems } from './lib/runs.ts';

const cores = cpus().length;
const RECORD_NAME = 'bench/record';
const opt = cli({ subscribers: 'BENCH_SUBSCRIBERS', duration: 'BENCH_DURATION', warmup: 'BENCH_WARMUP', payload: 'BENCH_PAYLOAD', 'sub-workers': 'BENCH_SUB_WORKERS', 'max-lag': 'BENCH_MAX_LAG', storage: 'BENCH_STORAGE', variants: 'BENCH_VARIANTS' });
const SUBSCRIBER_COUNTS = opt.ints('subscribers', '1,10,100', 1, 5000);
const DURATION_MS = Math.round(opt.num('duration', 5, 0.1) * 1000);
const WARMUP_MS = Math.round(opt.num('warmup', 1) * 1000); // Seconds of unreported writing per variant before the measured runs (the server's JIT warms up).
const PAYLOAD_BYTES = opt.int('payload', 100, 20);
const SUB_WORKERS = opt.int('sub-workers', 2, 1);
const MAX_LAG_MS = opt.num('max-lag', 300); // Writer flow control: ms of completions allowed in flight; 0 = only ws.bufferedAmount backpressure.
const [STORAGE] = opt.words('storage', 'sqlite', ['sqlite', 'sqlite-memory', 'none'] as const);
const VARIANTS = opt.words('variants', 'plain,ack', ['plain', 'ack'] as const);

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


async function runOnce(server: ServerProcess, subscribers: number, variant: 'plain' | 'ack', durationMs = DURATION_MS) {
  const ack = variant === 'ack';
  const r = await fanoutRun({ sendUrl: server.url, subUrl: () => server.url, subscribers, subWorkers: SUB_WORKERS, payloadBytes: PAYLOAD_BYTES, durationMs, maxLagMs: MAX_LAG_MS, record: RECORD_NAME, ack, pids: [server.pid], pollMs: 50 });
  const w = r.writer!;
  const lastAt = Math.max(r.counts.lastAt, ack ? w.lastAckAt : 0);
  const problems = fanoutProblems(r, subscribers).filter((p) => !p.includes('sequence gaps'));
  if (ack && w.acked !== r.result.sent) problems.push(`${w.acked} of ${r.result.sent} writes acknowledged`);
  return {
    subscribers, variant, r, acked: w.acked, ackedPerSec: !ack ? NaN : w.acked > 0 ? w.acked / ((w.lastAckAt - r.result.startAt) / 1000) : 0,
    ratio: r.expected > 0 ? r.counts.received / r.expected : NaN, inWindowPerSec: r.inWindow.received / r.windowSec,
    drainMs: lastAt > 0 ? Math.max(0, lastAt - r.result.sendEndAt) : NaN, problems,
  };
}

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
      console.log(`warm-up (${n} subscribers, ${variant}, ${WARMUP_MS / 1000} s, not reported): ${f.count(w.r.sentPerSec)} writes/s, ${w.problems.length === 0 ? 'ok' : `PROBLEMS: ${w.problems.join('; ')}`}`);
    }
  }

  const runs: Array<Awaited<ReturnType<typeof runOnce>>> = [];
  for (const n of SUBSCRIBER_COUNTS) {
    for (const variant of VARIANTS) {
      console.log(`\n1 writer → ${n} subscriber(s), ${variant === 'ack' ? 'PATCH with isWriteAck' : 'plain PATCH'}, ${DURATION_MS / 1000} s...`);
      const run = await runOnce(server, n, variant);
      runs.push(run);
      const { r } = run;
      const c = r.counts;
      console.log(
        `  v${r.result.startVersion} → v${r.result.startVersion + r.result.sent}: written ${f.count(r.result.sent)} (${f.count(r.sentPerSec)}/s); delivered ${f.count(c.received)} ` +
          `(${f.count(r.deliveredPerSec)}/s overall, ${f.count(run.inWindowPerSec)}/s while writing); ratio ${run.ratio.toFixed(4)}` +
          (variant === 'ack' ? `; acknowledged ${f.count(run.acked)} (${f.count(run.ackedPerSec)}/s)` : '') +
          `; drain ${f.wholeMs(run.drainMs)}; server CPU ${f.pct(r.cpu[0] ?? NaN)}, load generators ${f.pct(sumOf(r.loadCpu))} (${r.loadCpu.map((v) => f.pct(v)).join(' + ')} = this script + writer + subscriber workers) over ${r.busySec.toFixed(1)} s; ` +
          `${r.result.backpressureWaits} backpressure / ${r.result.windowWaits} flow-control waits, at most ${f.count(r.result.maxInFlight)} writes in flight; ` +
          (c.gaps > 0 ? `${c.gaps} version gap(s) (${c.missing} missing, ${c.backwards} backwards); ` : '') +
          (run.problems.length === 0 ? 'every subscriber saw every version in order, first broadcast verified' : `PROBLEMS: ${run.problems.join('; ')}`),
      );
      await sleep(500);
    }
  }
  const sizes = tempDir === undefined ? undefined : fileSizes(tempDir);

  console.log('\n=============================== SUMMARY ===============================');
  console.log(`\nRecord writes, 1 raw writer (PATCH, ${PAYLOAD_BYTES}-byte value) for ${DURATION_MS / 1000} s per run; storage: ${server.storage}`);
  console.log(
    table(
      ['subscribers', 'variant', 'writes/s', 'deliveries/s', '(while writing)', 'acked writes/s', 'ratio', 'drain', 'server CPU', 'loadgen CPU', 'gaps', 'errors / checks'],
      runs.map(({ subscribers, variant, r, ...run }) => [
        String(subscribers), variant, f.count(r.sentPerSec), f.count(r.deliveredPerSec), f.count(run.inWindowPerSec), f.count(run.ackedPerSec), run.ratio.toFixed(4), f.wholeMs(run.drainMs),
        f.pct(r.cpu[0] ?? NaN), f.pct(sumOf(r.loadCpu)), String(r.counts.gaps), run.problems.length === 0 ? 'ok' : run.problems.join('; '),
      ]),
      2,
      1,
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
await runBenchmark('benchmark', 120_000 + VARIANTS.length * ((WARMUP_MS > 0 ? 1 : 0) + SUBSCRIBER_COUNTS.length) * (DURATION_MS + 2 * SETUP_TIMEOUT_MS + SETTLE_MAX_MS + 10_000), main);
