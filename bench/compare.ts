/**
 * Side by side with deepstream 7.0.2 (issue 10): the same raw-protocol load, interleaved run by
 * run (ours, deepstream, [ws ceiling], ours, deepstream, …), medians and ratios at the end.
 *
 *   npm run bench:compare                 # all scenarios, 3 repeats (8 to 9 minutes on 2 cores)
 *   npx tsx --conditions=source bench/compare.ts --quick      # every scenario once, short windows (about 3 minutes)
 *   npx tsx --conditions=source bench/compare.ts --scenarios fanout,topics --repeats 5 --duration 2
 *
 * Needs deepstream installed once: `npm install --prefix bench/compare` (see bench/README.md).
 * Prints one JSON line per run on stdout, progress on stderr, then the table and the targets.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeCompareSubscriberCounts } from './lib/compare-ipc.ts';
import type { CompareSubscriberCounts, ComparePublisherResult, FromCompareSubscriber, FromComparePublisher, FromIdle, ToCompareSubscriber, ToComparePublisher, ToIdle } from './lib/compare-ipc.ts';
import { mergeRecordSubscriberCounts } from './lib/record-ipc.ts';
import type { FromRecordSubscriber, FromRecordWriter, RecordSubscriberCounts, RecordWriterResult, ToRecordSubscriber, ToRecordWriter } from './lib/record-ipc.ts';
import type { FromProvider, FromRequester, ToProvider, ToRequester } from './lib/rpc-ipc.ts';
import { histPercentile, type SparseHistogram } from './lib/seq-payload.ts';
import { verifyLoadGenerator } from './lib/compare-verify.ts';
import { cpuSeconds } from './lib/cpu.ts';
import { relayProgress, settle } from './lib/flow-control.ts';
import { askCounts, deepstreamArgs, forkWorker, log, nextMessage, root, runBenchmark, sleep, startServer, stopWorkers, type ServerProcess, type Worker } from './lib/processes.ts';

const cores = cpus().length;

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    repeats: { type: 'string' },
    duration: { type: 'string' },
    scenarios: { type: 'string' },
    servers: { type: 'string' },
    subscribers: { type: 'string' },
    'record-subscribers': { type: 'string' },
    requesters: { type: 'string' },
    idle: { type: 'string' },
    topics: { type: 'string' },
    'fixed-rate': { type: 'string' },
    'fixed-subscribers': { type: 'string' },
    'fixed-duration': { type: 'string' },
    payload: { type: 'string' },
    'sub-workers': { type: 'string' },
    'max-lag': { type: 'string' },
    'no-verify': { type: 'boolean' },
    'verify-only': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    baseline: { type: 'string' },
    'write-delay': { type: 'string' },
  },
});

const QUICK = args.quick === true;
const num = (value: string | undefined, fallback: number, what: string, min = 0): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${what}: expected a number >= ${min}, got "${value}"`);
  return n;
};
const list = (value: string | undefined, fallback: string): number[] =>
  (value ?? fallback)
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => num(s, 0, 'list', 1));

const ALL_SCENARIOS = ['fanout', 'fixed', 'topics', 'records', 'rpc', 'idle'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
const SCENARIOS = (args.scenarios ?? ALL_SCENARIOS.join(',')).split(',').map((s) => {
  if (!(ALL_SCENARIOS as readonly string[]).includes(s)) throw new Error(`--scenarios: unknown "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
  return s as Scenario;
});
type Kind = 'ours' | 'deepstream' | 'ceiling' | 'baseline' | 'delayed';
/** Another checkout of this repository (with its node_modules), run as a fourth server: A/B of code changes. */
const BASELINE_ROOT = args.baseline === undefined ? undefined : resolve(args.baseline);
const SERVERS = (args.servers ?? 'ours,deepstream,ceiling').split(',').map((s) => {
  if (!['ours', 'deepstream', 'ceiling', 'delayed'].includes(s)) throw new Error(`--servers: unknown "${s}"`);
  return s as Kind;
});
if (BASELINE_ROOT !== undefined) SERVERS.splice(1, 0, 'baseline');
const REPEATS = Math.floor(num(args.repeats, QUICK ? 1 : 3, 'repeats', 1));
const DURATION_MS = Math.round(num(args.duration, QUICK ? 1 : 2.5, 'duration', 0.1) * 1000);
const FANOUT_SUBSCRIBERS = list(args.subscribers, QUICK ? '10,100,1000' : '10,100,1000');
const RECORD_SUBSCRIBERS = list(args['record-subscribers'], '10,100');
const REQUESTERS = list(args.requesters, '1,10,100');
const IDLE_COUNTS = list(args.idle, QUICK ? '1000,5000' : '1000,5000,10000').sort((a, b) => a - b);
const TOPICS = Math.floor(num(args.topics, 1000, 'topics', 1));
const FIXED_RATE = num(args['fixed-rate'], 500, 'fixed-rate', 1);
const FIXED_SUBSCRIBERS = Math.floor(num(args['fixed-subscribers'], 100, 'fixed-subscribers', 1));
const FIXED_DURATION_MS = Math.round(num(args['fixed-duration'], QUICK ? 2 : 4, 'fixed-duration', 0.5) * 1000);
const PAYLOAD_BYTES = Math.floor(num(args.payload, 100, 'payload', 48));
const SUB_WORKERS = Math.floor(num(args['sub-workers'], 2, 'sub-workers', 1));
const MAX_LAG_MS = num(args['max-lag'], 300, 'max-lag', 0);
const CPU_PROF_DIR = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);
/** `delayed`: our server with `connection.writeDelay` at this many ms (fixed-rate scenario only). */
const WRITE_DELAY_MS = num(args['write-delay'], 2, 'write-delay', 0);
const RPC_WARMUP_MS = QUICK ? 300 : 500;

const SETUP_TIMEOUT_MS = 60_000;
/** Servers stopped between scenarios get this long to exit by themselves. */
const SERVER_STOP_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Processes

/** Resident set size in bytes (/proc/<pid>/status VmRSS); NaN if unavailable. */
function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

type Server = ServerProcess & { kind: Kind };

/** Expected noise: our records plugin without storage says so; deepstream logs NO_RPC_PROVIDER for
 * the verification's first calls, which race the official client's PROVIDE. */
const expectedLine = (line: string) => /^listening \d+$/.test(line) || line.includes('no storage connector configured') || line.includes('verify-rpc');

async function startKind(kind: Kind): Promise<Server> {
  let args: (port: number) => string[];
  let cwd = root;
  let env: NodeJS.ProcessEnv | undefined;
  if (kind === 'delayed') {
    args = (port) => deepstreamArgs(port, ['--config', 'bench/lib/compare-config.ts', '--host', '127.0.0.1']);
    env = { BENCH_WRITE_DELAY: String(WRITE_DELAY_MS) };
  } else if (kind === 'ours' || kind === 'baseline') {
    const prof = CPU_PROF_DIR === undefined || kind === 'baseline' ? [] : ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF_DIR, 'ours')];
    args = (port) => deepstreamArgs(port, ['--config', 'bench/lib/compare-config.ts', '--host', '127.0.0.1'], prof);
    if (kind === 'baseline') cwd = BASELINE_ROOT as string;
  } else if (kind === 'deepstream') {
    const prof = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF_DIR, 'deepstream')];
    args = (port) => [...prof, 'bench/compare/deepstream-server.cjs', String(port)];
  } else {
    args = (port) => ['--conditions=source', '--import', 'tsx', 'bench/lib/ws-ceiling-server.ts', String(port)];
  }
  const server = await startServer({ name: kind, args, cwd, env, ignore: expectedLine, echo: 5, stopGraceMs: SERVER_STOP_GRACE_MS });
  return { ...server, kind };
}

const shares = (total: number, parts: number) => Array.from({ length: parts }, (_, w) => Math.floor(total / parts) + (w < total % parts ? 1 : 0));
const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------
// Results

/** One JSON line per run. `value` is the scenario's headline figure (see METRICS). */
interface RunResult {
  scenario: string;
  server: Kind;
  repeat: number;
  value: number;
  ok: boolean;
  problems: string[];
  [detail: string]: unknown;
}

const results: RunResult[] = [];

function emit(result: RunResult): void {
  results.push(result);
  process.stdout.write(`${JSON.stringify(result, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v))}\n`);
}

// ---------------------------------------------------------------------------------------------
// Events: fan-out (one name, S subscribers), many topics (N names, one subscriber each), fixed rate

interface EventOptions {
  mode: 'fanout' | 'topics';
  subscribers: number;
  durationMs: number;
  /** Emits per second; 0 = as fast as flow control allows. */
  rate: number;
  latency: boolean;
}

async function eventRun(server: Server, o: EventOptions) {
  const workerCount = Math.min(SUB_WORKERS, o.subscribers);
  const subWorkers: Array<Worker<ToCompareSubscriber>> = [];
  let publisher: Worker<ToComparePublisher> | undefined;
  try {
    let first = 0;
    for (const share of shares(o.subscribers, workerCount)) {
      subWorkers.push(forkWorker<ToCompareSubscriber>('compare-subscriber.ts', [server.url, o.mode, String(share), String(first), String(PAYLOAD_BYTES)]));
      first += share;
    }
    const pub = (publisher = forkWorker<ToComparePublisher>('compare-publisher.ts', [server.url, o.mode, String(o.subscribers), String(PAYLOAD_BYTES)]));
    // Flow control: fan-out emits are complete when the slowest subscriber has them; in the
    // many-topics mode each emit has one subscriber, so completed = deliveries summed.
    const fanout = o.mode === 'fanout';
    relayProgress(
      subWorkers,
      (delivered) => pub.post({ type: 'progress', delivered }),
      (m: FromCompareSubscriber) => (m.type !== 'progress' ? undefined : fanout ? m.min : m.sum),
      (values) => (fanout ? Math.min(...values) : sumOf(values)),
    );
    await Promise.all([...subWorkers.map((w) => nextMessage<FromCompareSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)), nextMessage<FromComparePublisher, 'ready'>(pub, 'ready', SETUP_TIMEOUT_MS)]);
    if (o.latency) for (const w of subWorkers) w.post({ type: 'latency', on: true });
    await sleep(300); // connection setup work finishes everywhere

    const report = async () => mergeCompareSubscriberCounts(await Promise.all(subWorkers.map((w) => askCounts<CompareSubscriberCounts>(w))));
    const loadPids = [pub.pid ?? 0, ...subWorkers.map((w) => w.pid ?? 0)];
    const sample = () => ({ wall: performance.now(), server: cpuSeconds(server.pid), load: sumOf(loadPids.map(cpuSeconds)) });

    const start = sample();
    const sent = nextMessage<FromComparePublisher, 'sent'>(pub, 'sent', o.durationMs + 30_000);
    const done = nextMessage<FromComparePublisher, 'done'>(pub, 'done', o.durationMs + 60_000);
    void done.catch(() => {});
    pub.post({ type: 'go', durationMs: o.durationMs, maxLagMs: MAX_LAG_MS, rate: o.rate });
    await sent;
    const result: ComparePublisherResult = (await done).result;
    const expected = o.mode === 'fanout' ? result.emitted * o.subscribers : result.emitted;
    const { busyEnd } = await settle({ report, sample, complete: (c) => c.received >= expected, moved: (a, b) => a.received !== b.received, pollMs: 20 });
    const rss = rssBytes(server.pid);
    await sleep(100); // late frames (duplicates) still get counted
    const counts = await report();
    const busySec = (busyEnd.wall - start.wall) / 1000;
    const serverCpuSec = busyEnd.server - start.server;
    const problems = [...counts.problems];
    if (counts.received !== expected) problems.push(`${expected - counts.received} of ${expected} deliveries missing`);
    if (counts.closed > 0) problems.push(`${counts.closed} subscriber connections closed by the server`);
    if (!counts.verified) problems.push('a first frame failed the full check');
    if (counts.other > 0) problems.push(`${counts.other} unexpected frames`);
    const emittedPerSec = result.emitted / ((result.sendEndAt - result.startAt) / 1000);
    // A fixed-rate run whose server could not keep up measures a saturated server, not the rate asked for.
    const sustained = o.rate === 0 || emittedPerSec >= 0.95 * o.rate;
    const lost = counts.gaps + counts.reordered + counts.badFrames;
    return {
      emitted: result.emitted,
      emittedPerSec,
      rateSustained: sustained,
      delivered: counts.received,
      deliveredPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
      drainMs: Math.max(0, counts.lastAt - result.sendEndAt),
      serverCpuPct: (serverCpuSec / busySec) * 100,
      serverCpuUsPerDelivery: (serverCpuSec * 1e6) / counts.received,
      loadgenCpuPct: ((busyEnd.load - start.load) / busySec) * 100,
      serverRssMB: rss / 2 ** 20,
      latencyP50Us: histPercentile(counts.latencies, 50),
      latencyP99Us: histPercentile(counts.latencies, 99),
      latencyMaxUs: counts.latencies.some((h) => h.count > 0) ? Math.max(...counts.latencies.map((h) => h.maxUs)) : NaN,
      latencySamples: sumOf(counts.latencies.map((h) => h.count)),
      gaps: counts.gaps,
      missing: counts.missing,
      reordered: counts.reordered,
      badFrames: counts.badFrames,
      windowWaits: result.windowWaits,
      backpressureWaits: result.backpressureWaits,
      maxInFlight: result.maxInFlight,
      ok: problems.length === 0 && lost === 0,
      problems: problems.slice(0, 5),
    };
  } finally {
    await stopWorkers([...subWorkers, publisher]);
  }
}

// ---------------------------------------------------------------------------------------------
// Records: one writer PATCHing one record, K subscribers (record-*-worker.ts, as bench/records.ts)

async function recordRun(server: Server, subscribers: number, durationMs: number, recordName: string) {
  const workerCount = Math.min(SUB_WORKERS, subscribers);
  const subWorkers: Array<Worker<ToRecordSubscriber>> = [];
  let writer: Worker<ToRecordWriter> | undefined;
  try {
    for (const share of shares(subscribers, workerCount)) {
      subWorkers.push(forkWorker<ToRecordSubscriber>('record-subscriber-worker.ts', [server.url, String(share), String(PAYLOAD_BYTES), recordName]));
    }
    await Promise.all(subWorkers.map((w) => nextMessage<FromRecordSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)));
    const wr = (writer = forkWorker<ToRecordWriter>('record-writer-worker.ts', [server.url, String(PAYLOAD_BYTES), recordName]));
    await nextMessage<FromRecordWriter, 'ready'>(wr, 'ready', SETUP_TIMEOUT_MS);
    relayProgress(subWorkers, (delivered) => wr.post({ type: 'progress', delivered }), (m: FromRecordSubscriber) => (m.type === 'progress' ? m.delivered : undefined));
    await sleep(300);
    const report = async () => mergeRecordSubscriberCounts(await Promise.all(subWorkers.map((w) => askCounts<RecordSubscriberCounts>(w))));
    const loadPids = [wr.pid ?? 0, ...subWorkers.map((w) => w.pid ?? 0)];
    const sample = () => ({ wall: performance.now(), server: cpuSeconds(server.pid), load: sumOf(loadPids.map(cpuSeconds)) });
    const start = sample();
    const sent = nextMessage<FromRecordWriter, 'sent'>(wr, 'sent', durationMs + 30_000);
    const done = nextMessage<FromRecordWriter, 'done'>(wr, 'done', durationMs + 60_000);
    void done.catch(() => {});
    wr.post({ type: 'go', durationMs, maxLagMs: MAX_LAG_MS, ack: false });
    await sent;
    const result: RecordWriterResult = (await done).result;
    const expected = result.written * subscribers;
    const { busyEnd } = await settle({ report, sample, complete: (c) => c.received >= expected, moved: (a, b) => a.received !== b.received, pollMs: 20 });
    const rss = rssBytes(server.pid);
    await sleep(100);
    const counts = await report();
    const busySec = (busyEnd.wall - start.wall) / 1000;
    const finalVersion = result.startVersion + result.written;
    const problems = [...counts.gapSamples, ...counts.otherSamples].slice(0, 3);
    if (counts.received !== expected) problems.push(`${expected - counts.received} of ${expected} deliveries missing`);
    if (counts.gaps > 0) problems.push(`${counts.gaps} version gaps`);
    if (counts.lastVersionMin !== finalVersion || counts.lastVersionMax !== finalVersion) problems.push(`subscribers at v${counts.lastVersionMin}..v${counts.lastVersionMax}, writer at v${finalVersion}`);
    if (counts.closed > 0) problems.push(`${counts.closed} connections closed by the server`);
    if (!counts.verified) problems.push('a first broadcast failed the full check');
    const unexpected = sumOf(Object.values(counts.other));
    if (unexpected > 0) problems.push(`${unexpected} unexpected frames`);
    return {
      written: result.written,
      writesPerSec: result.written / ((result.sendEndAt - result.startAt) / 1000),
      delivered: counts.received,
      deliveredPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
      serverCpuPct: ((busyEnd.server - start.server) / busySec) * 100,
      serverCpuUsPerDelivery: ((busyEnd.server - start.server) * 1e6) / counts.received,
      loadgenCpuPct: ((busyEnd.load - start.load) / busySec) * 100,
      serverRssMB: rss / 2 ** 20,
      ok: problems.length === 0,
      problems: problems.slice(0, 5),
    };
  } finally {
    await stopWorkers([...subWorkers, writer]);
  }
}

// ---------------------------------------------------------------------------------------------
// RPC: one provider, N requesters with one call in flight each (rpc-*-worker.ts, as bench/rpc.ts)

async function rpcRun(server: Server, requesters: number, durationMs: number) {
  const provider = forkWorker<ToProvider>('rpc-provider-worker.ts', [server.url, '1']);
  let worker: Worker<ToRequester> | undefined;
  try {
    await nextMessage<FromProvider, 'ready'>(provider, 'ready', SETUP_TIMEOUT_MS);
    const w = (worker = forkWorker<ToRequester>('rpc-requester-worker.ts', [server.url, String(requesters), String(PAYLOAD_BYTES)]));
    await nextMessage<FromRequester, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS);
    await sleep(200);
    const loadPids = [provider.pid ?? 0, w.pid ?? 0];
    const measured = nextMessage<FromRequester, 'measured'>(w, 'measured', RPC_WARMUP_MS + durationMs + 30_000);
    const done = nextMessage<FromRequester, 'done'>(w, 'done', RPC_WARMUP_MS + durationMs + 60_000);
    void done.catch(() => {});
    w.post({ type: 'go', warmupMs: RPC_WARMUP_MS, durationMs });
    await sleep(RPC_WARMUP_MS);
    const before = { at: performance.now(), server: cpuSeconds(server.pid), load: sumOf(loadPids.map(cpuSeconds)) };
    await measured;
    const after = { at: performance.now(), server: cpuSeconds(server.pid), load: sumOf(loadPids.map(cpuSeconds)) };
    const { result } = await done;
    const seconds = (after.at - before.at) / 1000;
    const callsPerSec = result.completed / (result.windowMs / 1000);
    const problems: string[] = [];
    if (result.errors > 0) problems.push(`${result.errors} RPC errors (first: ${result.firstError})`);
    if (result.unanswered > 0) problems.push(`${result.unanswered} calls unanswered`);
    if (!result.verified) problems.push('a first RESPONSE failed the full check');
    return {
      callsPerSec,
      latencyP50Us: result.latencyUs.p50,
      latencyP99Us: result.latencyUs.p99,
      serverCpuPct: ((after.server - before.server) / seconds) * 100,
      serverCpuUsPerCall: ((after.server - before.server) * 1e6) / (callsPerSec * seconds),
      loadgenCpuPct: ((after.load - before.load) / seconds) * 100,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await stopWorkers([worker, provider]);
  }
}

// ---------------------------------------------------------------------------------------------
// Idle connections: a fresh server, then 1k, 5k, 10k logged-in sockets added step by step

async function settledRss(pid: number): Promise<number> {
  // RSS moves for a while after a burst of logins (GC, lazily freed buffers): wait until two
  // samples 500 ms apart differ by less than 1 %, at most 5 s.
  let last = rssBytes(pid);
  for (let i = 0; i < 10; i++) {
    await sleep(500);
    const now = rssBytes(pid);
    if (Math.abs(now - last) < 0.01 * last) return now;
    last = now;
  }
  return last;
}

async function idleRun(kind: Kind, repeat: number): Promise<void> {
  const server = await startKind(kind);
  const workers: Array<Worker<ToIdle>> = [];
  try {
    await sleep(1_000);
    const baseline = await settledRss(server.pid);
    let open = 0;
    for (const target of IDLE_COUNTS) {
      const started = performance.now();
      const cpu0 = cpuSeconds(server.pid);
      const step = shares(target - open, SUB_WORKERS).map((n) => forkWorker<ToIdle>('compare-idle.ts', [server.url, String(n)]));
      workers.push(...step);
      await Promise.all(step.map((w) => nextMessage<FromIdle, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS * 2)));
      const loginSec = (performance.now() - started) / 1000;
      const loginCpu = cpuSeconds(server.pid) - cpu0;
      open = target;
      const rss = await settledRss(server.pid);
      const perConnection = (rss - baseline) / target;
      emit({
        scenario: `idle N=${target}`,
        server: kind,
        repeat,
        value: perConnection / 1024,
        unit: 'KB RSS per connection',
        baselineRssMB: baseline / 2 ** 20,
        rssMB: rss / 2 ** 20,
        loginsPerSec: (target - (IDLE_COUNTS[IDLE_COUNTS.indexOf(target) - 1] ?? 0)) / loginSec,
        serverCpuMsPerLogin: (loginCpu * 1000) / (target - (IDLE_COUNTS[IDLE_COUNTS.indexOf(target) - 1] ?? 0)),
        ok: server.process.exitCode === null,
        problems: [],
      });
    }
  } finally {
    await stopWorkers(workers);
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Table and targets

const median = (values: number[]) => {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};

/** Scenario name → [metric label, better direction, format]. */
interface Row {
  scenario: string;
  metric: string;
  higherIsBetter: boolean;
  ours: number;
  deepstream: number;
  ceiling: number;
  baseline: number;
  delayed: number;
  runs: number;
  ok: boolean;
  /** Servers that could not hold a fixed rate in some run. */
  rateMissed: Kind[];
}

function rows(): Row[] {
  const byScenario = new Map<string, RunResult[]>();
  for (const r of results) {
    if (r.scenario.startsWith('verify')) continue;
    if (!byScenario.has(r.scenario)) byScenario.set(r.scenario, []);
    byScenario.get(r.scenario)!.push(r);
  }
  const out: Row[] = [];
  for (const [scenario, runs] of byScenario) {
    const pick = (kind: Kind, key = 'value') => median(runs.filter((r) => r.server === kind).map((r) => r[key] as number));
    const ok = runs.every((r) => r.ok);
    const rateMissed = [...new Set(runs.filter((r) => r.rateSustained === false).map((r) => r.server))];
    const metrics: Array<[string, string, boolean]> =
      scenario.startsWith('fixed')
        ? [
            ['value', 'server CPU µs/delivery', false],
            ['latencyP50Us', 'latency p50 µs', false],
            ['latencyP99Us', 'latency p99 µs', false],
          ]
        : scenario.startsWith('idle')
          ? [['value', 'KB RSS/connection', false]]
          : scenario.startsWith('rpc')
            ? [
                ['value', 'calls/s', true],
                ['serverCpuUsPerCall', 'server CPU µs/call', false],
              ]
            : [
                ['value', 'deliveries/s', true],
                ['serverCpuUsPerDelivery', 'server CPU µs/delivery', false],
              ];
    for (const [key, metric, higherIsBetter] of metrics) {
      out.push({ scenario, metric, higherIsBetter, ours: pick('ours', key), deepstream: pick('deepstream', key), ceiling: pick('ceiling', key), baseline: pick('baseline', key), delayed: pick('delayed', key), runs: runs.length, ok, rateMissed });
    }
  }
  return out;
}

const fmt = (v: number) => (Number.isNaN(v) ? '-' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

interface Target {
  target: string;
  met: boolean | undefined;
  detail: string;
}

function targets(all: Row[]): Target[] {
  const find = (scenario: string, metric: string) => all.find((r) => r.scenario === scenario && r.metric === metric);
  const out: Target[] = [];
  const ratioTarget = (label: string, scenario: string, metric: string, test: (r: Row) => [boolean, string]) => {
    const row = find(scenario, metric);
    if (row === undefined || Number.isNaN(row.ours) || (Number.isNaN(row.deepstream) && !label.includes('ceiling')) || (label.includes('ceiling') && Number.isNaN(row.ceiling))) return out.push({ target: label, met: undefined, detail: 'not measured in this run' });
    const [met, detail] = test(row);
    out.push({ target: label, met, detail });
  };
  for (const s of [100, 1000]) {
    ratioTarget(`fan-out S=${s}: >= 4x deepstream`, `fanout S=${s}`, 'deliveries/s', (r) => [r.ours >= 4 * r.deepstream, `${(r.ours / r.deepstream).toFixed(2)}x`]);
    ratioTarget(`fan-out S=${s}: >= 70% of the ws ceiling`, `fanout S=${s}`, 'deliveries/s', (r) => [r.ours >= 0.7 * r.ceiling, `${((r.ours / r.ceiling) * 100).toFixed(0)}%`]);
  }
  const fixed = `fixed ${FIXED_RATE}/s S=${FIXED_SUBSCRIBERS}`;
  ratioTarget('server CPU per delivery at the fixed rate: <= 1/2 deepstream', fixed, 'server CPU µs/delivery', (r) => [r.ours <= 0.5 * r.deepstream, `${fmt(r.ours)} vs ${fmt(r.deepstream)} µs (${(r.ours / r.deepstream).toFixed(2)}x)`]);
  ratioTarget('p99 latency at the fixed rate: no worse than deepstream', fixed, 'latency p99 µs', (r) => [r.ours <= r.deepstream, `${fmt(r.ours)} vs ${fmt(r.deepstream)} µs`]);
  const delayedRow = find(fixed, 'server CPU µs/delivery');
  const delayedP99 = find(fixed, 'latency p99 µs');
  if (delayedRow === undefined || Number.isNaN(delayedRow.delayed) || Number.isNaN(delayedRow.ceiling)) out.push({ target: `writeDelay ${WRITE_DELAY_MS} ms at the fixed rate: CPU/delivery <= 0.5x the ws server`, met: undefined, detail: 'not measured in this run (--servers ours,deepstream,ceiling,delayed)' });
  else
    out.push({
      target: `writeDelay ${WRITE_DELAY_MS} ms at the fixed rate: CPU/delivery <= 0.5x the ws server`,
      met: delayedRow.delayed <= 0.5 * delayedRow.ceiling,
      detail: `${fmt(delayedRow.delayed)} vs ${fmt(delayedRow.ceiling)} µs (${(delayedRow.delayed / delayedRow.ceiling).toFixed(2)}x; without delay ${fmt(delayedRow.ours)} µs); p99 latency ${fmt(delayedP99?.delayed ?? NaN)} vs ${fmt(delayedP99?.ours ?? NaN)} µs without delay (added ${fmt((delayedP99?.delayed ?? NaN) - (delayedP99?.ours ?? NaN))} µs)`,
    });
  ratioTarget('record updates K=100: >= 3x deepstream', 'records K=100', 'deliveries/s', (r) => [r.ours >= 3 * r.deepstream, `${(r.ours / r.deepstream).toFixed(2)}x`]);
  ratioTarget(`many topics N=${TOPICS}: >= 2.5x deepstream`, `topics N=${TOPICS}`, 'deliveries/s', (r) => [r.ours >= 2.5 * r.deepstream, `${(r.ours / r.deepstream).toFixed(2)}x`]);
  ratioTarget('RPC 100 requesters: >= 1.5x deepstream', 'rpc requesters=100', 'calls/s', (r) => [r.ours >= 1.5 * r.deepstream, `${(r.ours / r.deepstream).toFixed(2)}x`]);
  const idleTop = IDLE_COUNTS[IDLE_COUNTS.length - 1];
  ratioTarget(`memory per idle connection at N=${idleTop}: <= deepstream`, `idle N=${idleTop}`, 'KB RSS/connection', (r) => [r.ours <= r.deepstream, `${fmt(r.ours)} vs ${fmt(r.deepstream)} KB`]);
  const bad = results.filter((r) => !r.ok);
  out.push({ target: 'no message lost or reordered (every run checked)', met: bad.length === 0, detail: bad.length === 0 ? `${results.length} runs clean` : bad.map((r) => `${r.scenario}/${r.server}#${r.repeat}: ${r.problems.join('; ')}`).join(' | ') });
  return out;
}

// ---------------------------------------------------------------------------------------------

async function interleaved(kinds: Kind[], servers: Map<Kind, Server>, scenario: string, run: (server: Server) => Promise<{ ok: boolean; problems: string[] } & Record<string, unknown>>, value: string): Promise<void> {
  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    for (const kind of kinds) {
      const server = servers.get(kind);
      if (server === undefined) continue;
      if (server.process.exitCode !== null || server.process.signalCode !== null) throw new Error(`${kind} server is gone (exit ${server.process.exitCode ?? server.process.signalCode})`);
      const detail = await run(server);
      emit({ scenario, server: kind, repeat, value: detail[value] as number, ...detail });
      await sleep(200);
    }
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  if (SERVERS.includes('deepstream') && !existsSync(join(root, 'bench/compare/node_modules/@deepstream/server'))) {
    throw new Error('deepstream 7.0.2 is not installed: run `npm install --prefix bench/compare` first (see bench/README.md)');
  }
  if (CPU_PROF_DIR !== undefined) mkdirSync(CPU_PROF_DIR, { recursive: true });
  // Every node process raises its open-file soft limit to the hard limit at start-up, so the
  // server and the workers get the hard limit; the server needs one descriptor per connection.
  const files = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const hardLimit = files === null || files[2] === 'unlimited' ? Infinity : Number(files[2]);
  const mostConnections = Math.max(SCENARIOS.includes('idle') ? (IDLE_COUNTS[IDLE_COUNTS.length - 1] ?? 0) : 0, TOPICS, ...FANOUT_SUBSCRIBERS);
  log(`open files: soft ${files?.[1] ?? '?'}, hard ${files?.[2] ?? '?'} (node raises the soft limit to the hard one); at most ${mostConnections} connections per server`);
  if (mostConnections + 500 > hardLimit) throw new Error(`the open-file hard limit (${hardLimit}) is too low for ${mostConnections} connections: raise it (ulimit -Hn) or lower --idle`);
  log(
    `compare: node ${process.version}, ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; servers ${SERVERS.join(', ')}; ` +
      `scenarios ${SCENARIOS.join(', ')}; ${REPEATS} repeat(s) interleaved; ${DURATION_MS / 1000} s windows; ${PAYLOAD_BYTES}-byte payloads`,
  );

  const throughput = SCENARIOS.filter((s) => s !== 'idle');
  const servers = new Map<Kind, Server>();
  if (throughput.length > 0 || args['verify-only'] === true) {
    for (const kind of SERVERS) {
      if (kind === 'ceiling' && !throughput.includes('fanout') && !throughput.includes('fixed')) continue;
      if (kind === 'delayed' && !throughput.includes('fixed')) continue;
      const server = await startKind(kind);
      servers.set(kind, server);
      log(`${kind} server pid ${server.pid} at ${server.url}`);
    }
  }
  const both = SERVERS.filter((k) => k !== 'ceiling' && k !== 'delayed');

  if (args['no-verify'] !== true) {
    for (const kind of both) {
      const server = servers.get(kind);
      if (server === undefined || kind === 'baseline') continue;
      const verdict = await verifyLoadGenerator(server.url, PAYLOAD_BYTES);
      emit({ scenario: 'verify load generator vs official client', server: kind, repeat: 1, value: verdict.ok ? 1 : 0, ok: verdict.ok, problems: verdict.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`), checks: verdict.checks });
      if (!verdict.ok) throw new Error(`the load generator disagrees with the official client on ${kind}; see the JSON line above`);
    }
    if (args['verify-only'] === true) return;
  }

  // Warm-up, unreported: JIT for every server's event and record paths.
  if (throughput.length > 0) {
    for (const [kind, server] of servers) {
      await eventRun(server, { mode: 'fanout', subscribers: 10, durationMs: 700, rate: 0, latency: false });
      if (kind !== 'ceiling' && kind !== 'delayed') await recordRun(server, 2, 500, 'bench/compare-warmup');
    }
    log(`warm-up done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }

  for (const scenario of SCENARIOS) {
    const t0 = performance.now();
    if (scenario === 'fanout') {
      for (const s of FANOUT_SUBSCRIBERS) {
        await interleaved(SERVERS, servers, `fanout S=${s}`, (server) => eventRun(server, { mode: 'fanout', subscribers: s, durationMs: DURATION_MS, rate: 0, latency: false }), 'deliveredPerSec');
      }
    } else if (scenario === 'fixed') {
      // Every server here, the bare ws one and ours with writeDelay too: CPU per delivery against the floor.
      await interleaved(SERVERS, servers, `fixed ${FIXED_RATE}/s S=${FIXED_SUBSCRIBERS}`, (server) => eventRun(server, { mode: 'fanout', subscribers: FIXED_SUBSCRIBERS, durationMs: FIXED_DURATION_MS, rate: FIXED_RATE, latency: true }), 'serverCpuUsPerDelivery');
    } else if (scenario === 'topics') {
      await interleaved(both, servers, `topics N=${TOPICS}`, (server) => eventRun(server, { mode: 'topics', subscribers: TOPICS, durationMs: DURATION_MS, rate: 0, latency: false }), 'deliveredPerSec');
    } else if (scenario === 'records') {
      for (const k of RECORD_SUBSCRIBERS) {
        await interleaved(both, servers, `records K=${k}`, (server) => recordRun(server, k, DURATION_MS, `bench/compare-${k}`), 'deliveredPerSec');
      }
    } else if (scenario === 'rpc') {
      for (const n of REQUESTERS) {
        await interleaved(both, servers, `rpc requesters=${n}`, (server) => rpcRun(server, n, DURATION_MS), 'callsPerSec');
      }
    } else if (scenario === 'idle') {
      // Throughput servers are done: free their memory and cores first.
      for (const server of servers.values()) await server.stop();
      servers.clear();
      for (let repeat = 1; repeat <= REPEATS; repeat++) for (const kind of both) await idleRun(kind, repeat);
    }
    log(`${scenario} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  for (const server of servers.values()) await server.stop();

  const all = rows();
  const hasCeiling = all.some((r) => !Number.isNaN(r.ceiling));
  const hasBaseline = all.some((r) => !Number.isNaN(r.baseline));
  const hasDelayed = all.some((r) => !Number.isNaN(r.delayed));
  console.log(`\nMedians of ${REPEATS} interleaved run(s) per server; ratio = ours / deepstream${hasCeiling ? '; vs ceiling = ours / raw ws server' : ''}. ${cores} cores shared by servers and load generators.`);
  console.log(
    table(
      ['scenario', 'metric', 'ours', 'deepstream', 'ratio', ...(hasCeiling ? ['ws ceiling', 'vs ceiling'] : []), ...(hasBaseline ? ['baseline', 'vs baseline'] : []), ...(hasDelayed ? [`ours ${WRITE_DELAY_MS} ms delay`, 'delay vs ceiling'] : []), 'checks'],
      all.map((r) => [
        r.scenario,
        `${r.metric} (${r.higherIsBetter ? 'higher' : 'lower'} is better)`,
        fmt(r.ours),
        fmt(r.deepstream),
        Number.isNaN(r.ours / r.deepstream) ? '-' : `${(r.ours / r.deepstream).toFixed(2)}x`,
        ...(hasCeiling ? [fmt(r.ceiling), Number.isNaN(r.ceiling) ? '' : `${((r.ours / r.ceiling) * 100).toFixed(0)}%`] : []),
        ...(hasBaseline ? [fmt(r.baseline), Number.isNaN(r.baseline) ? '' : `${(r.ours / r.baseline).toFixed(2)}x`] : []),
        ...(hasDelayed ? [fmt(r.delayed), Number.isNaN(r.delayed) || Number.isNaN(r.ceiling) ? '' : `${(r.delayed / r.ceiling).toFixed(2)}x`] : []),
        (r.ok ? 'ok' : 'FAILED') + (r.rateMissed.length > 0 ? ` (rate not held: ${r.rateMissed.join(', ')})` : ''),
      ]),
    ),
  );
  const verified = results.filter((r) => r.scenario.startsWith('verify'));
  if (verified.length > 0) console.log(`\nLoad generator against the official client: ${verified.map((r) => `${r.server} ${r.ok ? 'ok' : 'FAILED'}`).join(', ')} (${(verified[0]?.checks as unknown[]).length} checks each, see the "verify" JSON lines)`);
  console.log('\nTargets (issue 10):');
  for (const t of targets(all)) console.log(`  [${t.met === undefined ? ' -- ' : t.met ? ' met' : 'MISS'}] ${t.target}: ${t.detail}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (CPU_PROF_DIR !== undefined) console.log(`CPU profiles (one per server process and thread) in ${CPU_PROF_DIR}/ours and ${CPU_PROF_DIR}/deepstream`);
}

await runBenchmark('compare', 30 * 60_000, main);
