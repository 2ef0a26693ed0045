/**
 * Side by side with deepstream 7.0.2 (issues 10 and 22): the same raw-protocol load, interleaved run
 * by run (ours, deepstream, ws servers, …), medians, ratios and the issues' targets at the end; one
 * JSON line per run on stdout. Needs `npm install --prefix bench/compare` once (see bench/README.md).
 *   npm run bench:compare           # all scenarios, 3 repeats         --quick: once each, short windows
 *   npx tsx --conditions=source bench/compare.ts --issue22            # fixed rate, topics, idle at the largest N
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { cli } from './lib/args.ts';
import { percentile } from './lib/checks.ts';
import { verifyLoadGenerator } from './lib/compare-verify.ts';
import { cpuSeconds, CpuMeter, deepstreamArgs, forkWorker, log, nextMessage, pinToCpus, root, runBenchmark, settledRss, shares, sleep, startServer, stopWorkers, type ServerProcess, type Worker } from './lib/proc.ts';
import { f, jsonLine, median, sumOf, table } from './lib/report.ts';
import { PING_INTERVAL_MS } from './lib/raw-client.ts';
import { fanoutProblems, fanoutRun, rpcProblems, rpcRun, type FanoutSpec } from './lib/runs.ts';

const cores = cpus().length;
const opt = cli({
  quick: true, issue22: true, repeats: '', duration: '', scenarios: '', servers: '', subscribers: '', 'record-subscribers': '', requesters: '', idle: '', topics: '',
  'idle-cpu': '', pings: '', pin: true, 'fixed-rate': '', 'fixed-subscribers': '', 'fixed-duration': '', payload: '', 'sub-workers': '', 'max-lag': '', 'no-verify': true, 'verify-only': true, 'cpu-prof': '', baseline: '', 'write-delay': '',
});
const QUICK = opt.flag('quick');
const ISSUE22 = opt.flag('issue22');

// Every node process raises its open-file soft limit to the hard limit at start-up, so the server
// and the workers get the hard limit; the server needs one descriptor per connection.
const FILES = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
const HARD_LIMIT = FILES === null || FILES[2] === 'unlimited' ? Infinity : Number(FILES[2]);
/** Subscribers of the fan-out run beside the most idle connections (issue 22 item 2: "at 100k the fan-out to 1000 of them still works"). */
const IDLE_FANOUT = 1000;
/** The most idle connections the server's open-file limit allows, with room for that fan-out and its other descriptors, in thousands. */
const IDLE_MAX = Math.min(50_000, Math.floor((HARD_LIMIT - 500 - IDLE_FANOUT) / 1000) * 1000);

const ALL_SCENARIOS = ['fanout', 'fixed', 'topics', 'records', 'rpc', 'pings', 'idle'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
type Kind = 'ours' | 'baseline' | 'deepstream' | 'ceiling' | 'bare' | 'delayed';
const KINDS = ['ours', 'deepstream', 'ceiling', 'bare', 'delayed'] as const;
const SCENARIOS = opt.words('scenarios', ISSUE22 ? 'fixed,topics,pings,idle' : ALL_SCENARIOS.join(','), ALL_SCENARIOS);
/** Another checkout of this repository (with its node_modules), run as a further server: A/B of code changes. */
const BASELINE_ROOT = opt.given('baseline') ? resolve(opt.text('baseline', '')) : undefined;
const SERVERS: Kind[] = opt.words('servers', ISSUE22 ? 'ours,deepstream,ceiling,bare,delayed' : 'ours,deepstream,ceiling', KINDS);
if (BASELINE_ROOT !== undefined) SERVERS.splice(1, 0, 'baseline');
/** Which servers each scenario runs: the ws servers only route events; `delayed` is for the fixed rate. */
const ELIGIBLE: Record<Scenario, readonly Kind[]> = ISSUE22
  ? { fanout: ['ours', 'baseline', 'deepstream', 'ceiling'], fixed: ['ours', 'baseline', 'delayed', 'bare', 'ceiling'], topics: ['ours', 'baseline', 'deepstream', 'ceiling'], records: ['ours', 'baseline', 'deepstream'], rpc: ['ours', 'baseline', 'deepstream'], pings: ['ours', 'baseline', 'deepstream', 'bare'], idle: ['ours', 'baseline', 'deepstream'] }
  : { fanout: ['ours', 'baseline', 'deepstream', 'ceiling', 'bare'], fixed: [...KINDS, 'baseline'], topics: ['ours', 'baseline', 'deepstream', 'ceiling', 'bare'], records: ['ours', 'baseline', 'deepstream'], rpc: ['ours', 'baseline', 'deepstream'], pings: ['ours', 'baseline', 'deepstream', 'bare'], idle: ['ours', 'baseline', 'deepstream'] };
const kindsFor = (s: Scenario) => SERVERS.filter((k) => ELIGIBLE[s].includes(k));
const REPEATS = opt.int('repeats', QUICK ? 1 : 3, 1);
const DURATION_MS = Math.round(opt.num('duration', QUICK ? 1 : 2.5, 0.1) * 1000);
const FANOUT_SUBSCRIBERS = opt.ints('subscribers', '10,100,1000');
const RECORD_SUBSCRIBERS = opt.ints('record-subscribers', '10,100');
const REQUESTERS = opt.ints('requesters', '1,10,100');
const IDLE_COUNTS = opt.ints('idle', ISSUE22 ? `1000,5000,10000,${IDLE_MAX}` : QUICK ? '1000,5000' : '1000,5000,10000').sort((a, b) => a - b);
const TOPICS = opt.int('topics', 1000, 1);
/** The keep-alive scenario: this many connections, each sending a PING every KEEPALIVE_MS (issue 22 item 2: what an idle connection costs). */
const PINGERS = opt.int('pings', 2000, 1);
const KEEPALIVE_MS = 200;
/** The official client's default heartbeatInterval: it PINGs that often (shared/spec, docs/PROTOCOL.md §6.3). */
const CLIENT_PING_MS = 30_000;
/** Seconds over which the idle server's CPU is measured at the largest N (one keep-alive PING cycle of the load generator: 20 s); 0: not measured. */
const IDLE_CPU_SEC = opt.num('idle-cpu', QUICK ? 0 : 20, 0);
const FIXED_RATE = opt.num('fixed-rate', ISSUE22 ? 200 : 500, 1);
const FIXED_SUBSCRIBERS = opt.int('fixed-subscribers', 100, 1);
const FIXED_DURATION_MS = Math.round(opt.num('fixed-duration', QUICK ? 2 : 4, 0.5) * 1000);
const PAYLOAD_BYTES = opt.int('payload', 100, 48);
const SUB_WORKERS = opt.int('sub-workers', 2, 1);
const MAX_LAG_MS = opt.num('max-lag', 300);
const CPU_PROF_DIR = opt.given('cpu-prof') ? resolve(opt.text('cpu-prof', '')) : undefined;
const WRITE_DELAY_MS = opt.num('write-delay', 2); // `delayed`: our server with `connection.writeDelay` at this many ms (fixed-rate scenario).
/**
 * --pin: every server on CPU 0, this script and its load workers on the others, so that every
 * server gets the same one core. On 2 cores the many-topics runs land in one of two modes (about
 * one write per delivery, or about 13 frames per write: `server writes/delivery`), which moves
 * deliveries/s by up to 3x whichever the server; unpinned, about half the runs were slow, pinned
 * fewer (bench/README.md, "Issue 22: every figure").
 */
const PIN = opt.flag('pin') || ISSUE22;
const SERVER_CPUS = '0';
const LOAD_CPUS = cores > 2 ? `1-${cores - 1}` : '1';
const RPC_WARMUP_MS = QUICK ? 300 : 500;
const SERVER_STOP_GRACE_MS = 5_000; // Servers stopped between scenarios get this long to exit by themselves.

// Servers

type Server = ServerProcess & { kind: Kind };

/** Expected noise: our records plugin without storage says so; deepstream logs NO_RPC_PROVIDER for
 * the verification's first calls, which race the official client's PROVIDE. */
const expectedLine = (line: string) => /^listening \d+$/.test(line) || line.includes('no storage connector configured') || line.includes('verify-rpc');

async function startKind(kind: Kind): Promise<Server> {
  const profile = (dir: string) => (CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF_DIR, dir)]);
  const ours = (port: number, prof: string[] = []) => deepstreamArgs(port, ['--config', 'bench/lib/compare-config.ts', '--host', '127.0.0.1'], prof);
  const args: Record<Kind, (port: number) => string[]> = {
    ours: (port) => ours(port, profile('ours')),
    baseline: (port) => ours(port),
    delayed: (port) => ours(port),
    deepstream: (port) => [...profile('deepstream'), 'bench/compare/deepstream-server.cjs', String(port)],
    ceiling: (port) => ['--conditions=source', '--import', 'tsx', 'bench/lib/ws-ceiling-server.ts', String(port)],
    bare: (port) => ['--conditions=source', '--import', 'tsx', 'bench/lib/ws-ceiling-server.ts', String(port), '--bare'],
  };
  const env = kind === 'delayed' ? { BENCH_WRITE_DELAY: String(WRITE_DELAY_MS) } : undefined;
  const server = await startServer({ name: kind, args: args[kind], cwd: kind === 'baseline' ? BASELINE_ROOT : root, env, ignore: expectedLine, echo: 5, stopGraceMs: SERVER_STOP_GRACE_MS });
  if (PIN) pinToCpus(server.pid, SERVER_CPUS);
  return { ...server, kind };
}

// Runs; one JSON line each. `value` is the scenario's headline figure.

type RunResult = { scenario: string; server: Kind; repeat: number; value: number; ok: boolean; problems: string[]; [detail: string]: unknown };

const results: RunResult[] = [];
const emit = (result: RunResult) => (results.push(result), jsonLine(result));

/** One fan-out run: events (fan-out, many topics, fixed rate) or, with `record`, record updates (as bench/records.ts). */
async function fanout(server: Server, o: Pick<FanoutSpec, 'subscribers' | 'durationMs' | 'topics' | 'rate' | 'latency' | 'record'>) {
  const r = await fanoutRun({ sendUrl: server.url, subUrl: () => server.url, subWorkers: SUB_WORKERS, payloadBytes: PAYLOAD_BYTES, maxLagMs: MAX_LAG_MS, pids: [server.pid], ...o });
  const { counts: c, result } = r;
  const problems = fanoutProblems(r, o.subscribers);
  // A fixed-rate run whose server could not keep up measures a saturated server, not the rate asked for: rateSustained.
  return {
    sent: result.sent, sentPerSec: r.sentPerSec, rateSustained: !o.rate || r.sentPerSec >= 0.95 * o.rate, delivered: c.received, deliveredPerSec: r.deliveredPerSec,
    drainMs: Math.max(0, c.lastAt - result.sendEndAt), serverCpuPct: r.cpu[0], serverCpuUsPerDelivery: (((r.cpu[0] ?? NaN) / 100) * r.busySec * 1e6) / c.received,
    serverWritesPerDelivery: r.serverWrites / c.received,
    loadgenCpuPct: sumOf(r.loadCpu.slice(1)), serverRssMB: r.rss / 2 ** 20,
    latencyP50Us: percentile(c.latency, 50), latencyP99Us: percentile(c.latency, 99), latencyMaxUs: c.latency.max, latencySamples: c.latency.count,
    gaps: c.gaps, missing: c.missing, reordered: c.backwards, badFrames: c.bad,
    windowWaits: result.windowWaits, backpressureWaits: result.backpressureWaits, maxInFlight: result.maxInFlight,
    ok: problems.length === 0, problems: problems.slice(0, 5),
  };
}


/** RPC: one provider, N requesters with one call in flight each (as bench/rpc.ts). */
async function compareRpc(server: Server, requesters: number) {
  const provider = forkWorker({ role: 'rpc-provider', url: server.url, accept: true });
  try {
    await nextMessage(provider, 'ready');
    const r = await rpcRun({ url: server.url, provider, requesters, payloadBytes: PAYLOAD_BYTES, warmupMs: RPC_WARMUP_MS, durationMs: DURATION_MS, pids: [server.pid] });
    const problems = rpcProblems(r.result);
    return {
      callsPerSec: r.callsPerSec, latencyP50Us: percentile(r.result.latency, 50), latencyP99Us: percentile(r.result.latency, 99),
      serverCpuPct: r.cpu[0], serverCpuUsPerCall: r.serverUsPerCall, loadgenCpuPct: sumOf(r.cpu.slice(1)), ok: problems.length === 0, problems,
    };
  } finally {
    await stopWorkers([provider]);
  }
}

/** Keep-alives: PINGERS logged-in connections, each PINGing every KEEPALIVE_MS; the server's CPU per PONG its clients got. */
async function pingRun(server: Server) {
  const workers = shares(PINGERS, SUB_WORKERS).map((count) => forkWorker({ role: 'idle', url: server.url, count, pingMs: KEEPALIVE_MS }));
  try {
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
    await sleep(2 * KEEPALIVE_MS);
    const pongs = async () => sumOf(await Promise.all(workers.map(async (w) => (w.post({ type: 'report' }), (await nextMessage(w, 'answered')).count))));
    const from = { pongs: await pongs(), cpu: cpuSeconds(server.pid), at: performance.now() };
    await sleep(DURATION_MS);
    const to = { pongs: await pongs(), cpu: cpuSeconds(server.pid), at: performance.now() };
    const seconds = (to.at - from.at) / 1000;
    const answered = to.pongs - from.pongs;
    const expected = (PINGERS * seconds * 1000) / KEEPALIVE_MS;
    const problems = answered < 0.9 * expected ? [`${answered} PONGs in ${seconds.toFixed(1)} s, expected about ${Math.round(expected)}`] : [];
    return { pongsPerSec: answered / seconds, serverCpuUsPerPing: ((to.cpu - from.cpu) * 1e6) / answered, serverCpuPct: ((to.cpu - from.cpu) / seconds) * 100, ok: problems.length === 0, problems };
  } finally {
    await stopWorkers(workers);
  }
}

/** Idle connections: a fresh server, then logged-in sockets added step by step up to each count. */
async function idleRun(kind: Kind, repeat: number): Promise<void> {
  const server = await startKind(kind);
  const workers: Worker[] = [];
  try {
    await sleep(1_000);
    const baseline = await settledRss(server.pid);
    let open = 0;
    let lastRss = baseline;
    for (const target of IDLE_COUNTS) {
      const started = performance.now();
      const cpu0 = cpuSeconds(server.pid);
      const step = shares(target - open, SUB_WORKERS).map((count) => forkWorker({ role: 'idle', url: server.url, count }));
      workers.push(...step);
      await Promise.all(step.map((w) => nextMessage(w, 'ready', 120_000)));
      const loginSec = (performance.now() - started) / 1000;
      const loginCpu = cpuSeconds(server.pid) - cpu0;
      const added = target - open;
      open = target;
      const rss = await settledRss(server.pid);
      // What each connection of this step added: the process's fixed growth (heap reservations, code) spread out, what N = 100k would tend to.
      const marginalKB = (rss - lastRss) / added / 1024;
      lastRss = rss;
      const top = target === IDLE_COUNTS[IDLE_COUNTS.length - 1];
      const idleCpuPct = top && IDLE_CPU_SEC > 0 ? await quietCpuPercent(server.pid, IDLE_CPU_SEC) : NaN;
      const alive = server.process.exitCode === null;
      emit({ scenario: `idle N=${target}`, server: kind, repeat, value: (rss - baseline) / target / 1024, unit: 'KB RSS per connection', baselineRssMB: baseline / 2 ** 20, rssMB: rss / 2 ** 20, marginalKB, loginsPerSec: added / loginSec, serverCpuMsPerLogin: (loginCpu * 1000) / added, idleCpuPct, ok: alive, problems: alive ? [] : ['the server exited'] });
      if (top) {
        const detail = await fanout(server, { subscribers: IDLE_FANOUT, durationMs: DURATION_MS });
        emit({ scenario: `fanout S=${IDLE_FANOUT} beside ${target} idle`, server: kind, repeat, value: detail.deliveredPerSec, ...detail });
      }
    }
  } finally {
    await stopWorkers(workers);
    await server.stop();
  }
}

/** The server's CPU, % of one core, over `seconds` in which nothing but the idle connections' keep-alives happens. */
async function quietCpuPercent(pid: number, seconds: number): Promise<number> {
  const meter = new CpuMeter([pid]);
  const from = meter.sample();
  await sleep(seconds * 1000);
  return CpuMeter.percent(from, meter.sample())[0] ?? NaN;
}

// Table and targets

const PINGS_SCENARIO = `pings N=${PINGERS} every ${KEEPALIVE_MS} ms`;

/** A metric of a scenario: the median per server kind (NaN where not measured), the servers that could not hold a fixed rate in some run. */
type Row = { scenario: string; metric: string; higherIsBetter: boolean; v: Record<Kind, number>; ok: boolean; rateMissed: Kind[] };

function rows(): Row[] {
  const byScenario = new Map<string, RunResult[]>();
  for (const r of results) if (!r.scenario.startsWith('verify')) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const out: Row[] = [];
  for (const [scenario, runs] of byScenario) {
    const metrics: Array<[string, string, boolean]> = scenario.startsWith('fixed')
      ? [['value', 'server CPU µs/delivery', false], ['serverWritesPerDelivery', 'server writes/delivery', false], ['latencyP50Us', 'latency p50 µs', false], ['latencyP99Us', 'latency p99 µs', false]]
      : scenario.startsWith('idle')
        ? [['value', 'KB RSS/connection', false], ['marginalKB', 'KB RSS/connection of this step', false], ['loginsPerSec', 'logins/s', true], ['idleCpuPct', 'idle server CPU % of a core', false]]
        : scenario.startsWith('pings')
          ? [['value', 'server CPU µs/PING', false]]
        : scenario.startsWith('rpc')
          ? [['value', 'calls/s', true], ['serverCpuUsPerCall', 'server CPU µs/call', false]]
          : [['value', 'deliveries/s', true], ['serverCpuUsPerDelivery', 'server CPU µs/delivery', false], ['serverWritesPerDelivery', 'server writes/delivery', false]];
    const rateMissed = [...new Set(runs.filter((r) => r.rateSustained === false).map((r) => r.server))];
    for (const [key, metric, higherIsBetter] of metrics) {
      const v = Object.fromEntries(['ours', 'baseline', 'deepstream', 'ceiling', 'bare', 'delayed'].map((k) => [k, median(runs.filter((r) => r.server === k).map((r) => r[key] as number))])) as Record<Kind, number>;
      out.push({ scenario, metric, higherIsBetter, v, ok: runs.every((r) => r.ok), rateMissed });
    }
  }
  return out;
}

type Target = { target: string; met: boolean | undefined; detail: string };

function targets(all: Row[]): Target[] {
  const out: Target[] = [];
  /** A target on `scenario`/`metric` comparing ours (or `who`) with `against`; not measured where either is missing. */
  const target = (label: string, scenario: string, metric: string, against: Kind, test: (a: number, b: number, r: Row) => [boolean, string], who: Kind = 'ours') => {
    const r = all.find((x) => x.scenario === scenario && x.metric === metric);
    if (r === undefined || Number.isNaN(r.v[who]) || Number.isNaN(r.v[against])) return void out.push({ target: label, met: undefined, detail: `not measured in this run (needs ${who} and ${against})` });
    const [met, detail] = test(r.v[who], r.v[against], r);
    out.push({ target: label, met, detail });
  };
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  for (const s of [100, 1000]) {
    target(`fan-out S=${s}: >= 4x deepstream`, `fanout S=${s}`, 'deliveries/s', 'deepstream', (a, b) => [a >= 4 * b, x(a, b)]);
    target(`fan-out S=${s}: >= 70% of the ws ceiling`, `fanout S=${s}`, 'deliveries/s', 'ceiling', (a, b) => [a >= 0.7 * b, `${((a / b) * 100).toFixed(0)}%`]);
  }
  const fixed = `fixed ${FIXED_RATE}/s S=${FIXED_SUBSCRIBERS}`;
  target('server CPU per delivery at the fixed rate: <= 1/2 deepstream', fixed, 'server CPU µs/delivery', 'deepstream', (a, b) => [a <= 0.5 * b, `${f.num(a)} vs ${f.num(b)} µs (${x(a, b)})`]);
  target('p99 latency at the fixed rate: no worse than deepstream', fixed, 'latency p99 µs', 'deepstream', (a, b) => [a <= b, `${f.num(a)} vs ${f.num(b)} µs`]);
  const p99 = all.find((r) => r.scenario === fixed && r.metric === 'latency p99 µs')?.v;
  const delayDetail = (r: Row) => `without delay ${f.num(r.v.ours)} µs; p99 latency ${f.num(p99?.delayed ?? NaN)} vs ${f.num(p99?.ours ?? NaN)} µs without delay (added ${f.num((p99?.delayed ?? NaN) - (p99?.ours ?? NaN))} µs)`;
  target(`writeDelay ${WRITE_DELAY_MS} ms at the fixed rate: CPU/delivery <= 0.5x the bare ws server`, fixed, 'server CPU µs/delivery', 'bare', (a, b, r) => [a <= 0.5 * b, `${f.num(a)} vs ${f.num(b)} µs (${x(a, b)}; corked ws ceiling ${f.num(r.v.ceiling)} µs); ${delayDetail(r)}`], 'delayed');
  target(`writeDelay ${WRITE_DELAY_MS} ms at the fixed rate: CPU/delivery <= 0.5x the corked ws ceiling`, fixed, 'server CPU µs/delivery', 'ceiling', (a, b) => [a <= 0.5 * b, `${f.num(a)} vs ${f.num(b)} µs (${x(a, b)})`], 'delayed');
  target('record updates K=100: >= 3x deepstream', 'records K=100', 'deliveries/s', 'deepstream', (a, b) => [a >= 3 * b, x(a, b)]);
  target(`many topics N=${TOPICS}: >= 2.5x deepstream`, `topics N=${TOPICS}`, 'deliveries/s', 'deepstream', (a, b) => [a >= 2.5 * b, x(a, b)]);
  target(`many topics N=${TOPICS}: ours >= the corked ws ceiling`, `topics N=${TOPICS}`, 'deliveries/s', 'ceiling', (a, b) => [a >= b, `${x(a, b)} (${f.count(a)} vs ${f.count(b)} deliveries/s)`]);
  target('RPC 100 requesters: >= 1.5x deepstream', 'rpc requesters=100', 'calls/s', 'deepstream', (a, b) => [a >= 1.5 * b, x(a, b)]);
  const idleTop = IDLE_COUNTS[IDLE_COUNTS.length - 1];
  target(`memory per idle connection at N=${idleTop}: <= deepstream`, `idle N=${idleTop}`, 'KB RSS/connection', 'deepstream', (a, b) => [a <= b, `${f.num(a)} vs ${f.num(b)} KB`]);
  const idleRow = (metric: string) => all.find((r) => r.scenario === `idle N=${idleTop}` && r.metric === metric)?.v.ours ?? NaN;
  const idleTarget = (label: string, metric: string, test: (a: number) => [boolean, string]) => {
    const a = idleRow(metric);
    out.push(Number.isNaN(a) ? { target: label, met: undefined, detail: 'not measured in this run' } : { target: label, met: test(a)[0], detail: test(a)[1] });
  };
  idleTarget(`RSS per idle connection at N=${idleTop}: <= 4 KB (issue 22 asks it at 100k)`, 'KB RSS/connection', (a) => [a <= 4, `${f.num(a)} KB; the connections of the last step added ${f.num(idleRow('KB RSS/connection of this step'))} KB each`]);
  const usPerPing = all.find((r) => r.scenario === PINGS_SCENARIO)?.v ?? ({} as Partial<Record<Kind, number>>);
  const at100k = ((100_000 / (CLIENT_PING_MS / 1000)) * (usPerPing.ours ?? NaN)) / 1e4;
  idleTarget(`idle server CPU at N=${idleTop}: < 2% of a core`, 'idle server CPU % of a core', (a) => [a < 2, `${f.num(a)}% over ${IDLE_CPU_SEC} s, a PING per connection every ${PING_INTERVAL_MS / 1000} s (logins/s ${f.count(idleRow('logins/s'))}); at ${f.num(usPerPing.ours ?? NaN)} µs per PING, 100k official clients (a PING every ${CLIENT_PING_MS / 1000} s) would take ${f.num(at100k)}%`]);
  target('keep-alives: server CPU per PING answered <= the bare ws server (the heartbeat adds no per-connection timer work)', PINGS_SCENARIO, 'server CPU µs/PING', 'bare', (a, b) => [a <= b, `${f.num(a)} vs ${f.num(b)} µs (${x(a, b)}; deepstream ${f.num(usPerPing.deepstream ?? NaN)} µs)`]);
  const beside = `fanout S=${IDLE_FANOUT} beside ${idleTop} idle`;
  const besideRuns = results.filter((r) => r.scenario === beside && r.server === 'ours');
  out.push(besideRuns.length === 0
    ? { target: `fan-out to ${IDLE_FANOUT} beside ${idleTop} idle connections works`, met: undefined, detail: 'not measured in this run' }
    : { target: `fan-out to ${IDLE_FANOUT} beside ${idleTop} idle connections works`, met: besideRuns.every((r) => r.ok), detail: `${f.count(median(besideRuns.map((r) => r.value)))} deliveries/s, ${besideRuns.filter((r) => r.ok).length}/${besideRuns.length} runs complete and in order` });
  const bad = results.filter((r) => !r.ok);
  out.push({ target: 'no message lost or reordered (every run checked)', met: bad.length === 0, detail: bad.length === 0 ? `${results.length} runs clean` : bad.map((r) => `${r.scenario}/${r.server}#${r.repeat}: ${r.problems.join('; ')}`).join(' | ') });
  return out;
}

function printTable(all: Row[]): void {
  const has = (k: Kind) => all.some((r) => !Number.isNaN(r.v[k]));
  const pctOf = (a: number, b: number) => (Number.isNaN(a / b) ? '' : `${((a / b) * 100).toFixed(0)}%`);
  const delayVs: Kind = has('bare') ? 'bare' : 'ceiling';
  type Column = [string[], (r: Row) => string[], boolean];
  const columns = ([
    [['ours', 'deepstream', 'ratio'], (r) => [f.num(r.v.ours), f.num(r.v.deepstream), f.ratio(r.v.ours / r.v.deepstream)], true],
    [['ws ceiling', 'vs ceiling'], (r) => [f.num(r.v.ceiling), pctOf(r.v.ours, r.v.ceiling)], has('ceiling')],
    [['bare ws', 'vs bare'], (r) => [f.num(r.v.bare), pctOf(r.v.ours, r.v.bare)], has('bare')],
    [['baseline', 'vs baseline'], (r) => [f.num(r.v.baseline), Number.isNaN(r.v.baseline) ? '' : f.ratio(r.v.ours / r.v.baseline)], has('baseline')],
    [[`ours ${WRITE_DELAY_MS} ms delay`, `delay vs ${delayVs}`], (r) => [f.num(r.v.delayed), Number.isNaN(r.v.delayed) || Number.isNaN(r.v[delayVs]) ? '' : f.ratio(r.v.delayed / r.v[delayVs])], has('delayed')],
  ] satisfies Column[]).filter((c) => c[2]);
  console.log(
    `\nMedians of ${REPEATS} interleaved run(s) per server; ratio = ours / deepstream; vs ceiling / vs bare = ours / the corked / uncorked ws server. ${cores} cores shared by servers and load generators.`,
  );
  console.log(
    table(
      ['scenario', 'metric', ...columns.flatMap((c) => c[0]), 'checks'],
      all.map((r) => [r.scenario, `${r.metric} (${r.higherIsBetter ? 'higher' : 'lower'} is better)`, ...columns.flatMap((c) => c[1](r)), (r.ok ? 'ok' : 'FAILED') + (r.rateMissed.length > 0 ? ` (rate not held: ${r.rateMissed.join(', ')})` : '')]),
      2,
    ),
  );
}

async function interleaved(scenario: Scenario, servers: Map<Kind, Server>, name: string, run: (server: Server) => Promise<{ ok: boolean; problems: string[] } & Record<string, unknown>>, value: string): Promise<void> {
  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    for (const kind of kindsFor(scenario)) {
      const server = servers.get(kind);
      if (server === undefined) continue;
      if (server.process.exitCode !== null || server.process.signalCode !== null) throw new Error(`${kind} server is gone (exit ${server.process.exitCode ?? server.process.signalCode})`);
      const detail = await run(server);
      emit({ scenario: name, server: kind, repeat, value: detail[value] as number, ...detail });
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
  const mostConnections = Math.max(SCENARIOS.includes('idle') ? (IDLE_COUNTS[IDLE_COUNTS.length - 1] ?? 0) : 0, TOPICS, ...FANOUT_SUBSCRIBERS);
  log(`open files: soft ${FILES?.[1] ?? '?'}, hard ${FILES?.[2] ?? '?'} (node raises the soft limit to the hard one); at most ${mostConnections} connections per server`);
  if (mostConnections + 500 > HARD_LIMIT) throw new Error(`the open-file hard limit (${HARD_LIMIT}) is too low for ${mostConnections} connections: raise it (ulimit -Hn) or lower --idle`);
  log(
    `compare: node ${process.version}, ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; servers ${SERVERS.join(', ')}; scenarios ${SCENARIOS.join(', ')}` +
      `${ISSUE22 ? ' (--issue22)' : ''}; ${REPEATS} repeat(s) interleaved; ${DURATION_MS / 1000} s windows; ${PAYLOAD_BYTES}-byte payloads`,
  );

  if (PIN) {
    if (cores < 2) throw new Error('--pin needs at least 2 cores');
    pinToCpus(process.pid, LOAD_CPUS);
    log(`pinned: servers on CPU ${SERVER_CPUS}, this script and the load workers on CPU ${LOAD_CPUS}`);
  }
  const throughput = SCENARIOS.filter((s) => s !== 'idle');
  const servers = new Map<Kind, Server>();
  const needed = new Set(opt.flag('verify-only') ? SERVERS.filter((k) => k === 'ours' || k === 'deepstream') : throughput.flatMap(kindsFor));
  for (const kind of SERVERS.filter((k) => needed.has(k))) {
    const server = await startKind(kind);
    servers.set(kind, server);
    log(`${kind} server pid ${server.pid} at ${server.url}`);
  }

  if (!opt.flag('no-verify')) {
    for (const [kind, server] of servers) {
      if (kind !== 'ours' && kind !== 'deepstream') continue;
      const verdict = await verifyLoadGenerator(server.url, PAYLOAD_BYTES);
      emit({ scenario: 'verify load generator vs official client', server: kind, repeat: 1, value: verdict.ok ? 1 : 0, ok: verdict.ok, problems: verdict.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`), checks: verdict.checks });
      if (!verdict.ok) throw new Error(`the load generator disagrees with the official client on ${kind}; see the JSON line above`);
    }
    if (opt.flag('verify-only')) return;
  }

  // Warm-up, unreported: JIT for every server's event (one name and, for the topics scenario, many) and record paths.
  for (const [kind, server] of servers) {
    await fanout(server, { subscribers: 10, durationMs: 700 });
    if (SCENARIOS.includes('topics')) await fanout(server, { topics: true, subscribers: TOPICS, durationMs: 700 });
    if (['ours', 'baseline', 'deepstream'].includes(kind)) await fanout(server, { subscribers: 2, durationMs: 500, record: 'bench/compare-warmup' });
  }
  if (servers.size > 0) log(`warm-up done (${((performance.now() - started) / 1000).toFixed(0)} s)`);

  for (const scenario of SCENARIOS) {
    const t0 = performance.now();
    if (scenario === 'fanout') {
      for (const s of FANOUT_SUBSCRIBERS) await interleaved(scenario, servers, `fanout S=${s}`, (server) => fanout(server, { subscribers: s, durationMs: DURATION_MS }), 'deliveredPerSec');
    } else if (scenario === 'fixed') {
      await interleaved(scenario, servers, `fixed ${FIXED_RATE}/s S=${FIXED_SUBSCRIBERS}`, (server) => fanout(server, { subscribers: FIXED_SUBSCRIBERS, durationMs: FIXED_DURATION_MS, rate: FIXED_RATE, latency: true }), 'serverCpuUsPerDelivery');
    } else if (scenario === 'topics') {
      await interleaved(scenario, servers, `topics N=${TOPICS}`, (server) => fanout(server, { topics: true, subscribers: TOPICS, durationMs: DURATION_MS }), 'deliveredPerSec');
    } else if (scenario === 'records') {
      for (const k of RECORD_SUBSCRIBERS) await interleaved(scenario, servers, `records K=${k}`, (server) => fanout(server, { subscribers: k, durationMs: DURATION_MS, record: `bench/compare-${k}` }), 'deliveredPerSec');
    } else if (scenario === 'pings') {
      await interleaved(scenario, servers, PINGS_SCENARIO, pingRun, 'serverCpuUsPerPing');
    } else if (scenario === 'rpc') {
      for (const n of REQUESTERS) await interleaved(scenario, servers, `rpc requesters=${n}`, (server) => compareRpc(server, n), 'callsPerSec');
    } else {
      // Throughput servers are done: free their memory and cores first.
      for (const server of servers.values()) await server.stop();
      servers.clear();
      for (let repeat = 1; repeat <= REPEATS; repeat++) for (const kind of kindsFor('idle')) await idleRun(kind, repeat);
    }
    log(`${scenario} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  for (const server of servers.values()) await server.stop();

  const all = rows();
  printTable(all);
  const verified = results.filter((r) => r.scenario.startsWith('verify'));
  if (verified.length > 0) console.log(`\nLoad generator against the official client: ${verified.map((r) => `${r.server} ${r.ok ? 'ok' : 'FAILED'}`).join(', ')} (${(verified[0]?.checks as unknown[]).length} checks each, see the "verify" JSON lines)`);
  console.log('\nTargets (issues 10 and 22):');
  for (const t of targets(all)) console.log(`  [${t.met === undefined ? ' -- ' : t.met ? ' met' : 'MISS'}] ${t.target}: ${t.detail}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (CPU_PROF_DIR !== undefined) console.log(`CPU profiles (one per server process and thread) in ${CPU_PROF_DIR}/ours and ${CPU_PROF_DIR}/deepstream`);
}

await runBenchmark('compare', 30 * 60_000, main);
