/**
 * Connectors benchmark: acknowledged record writes per second by 1, 10 and 100 writers (each alone
 * on its own record, a window of writes in flight), on (a) SQLite storage + memory cache and (b)
 * PostgreSQL + Redis on throwaway servers (skipped, with the reason, when they cannot start).
 *   npx tsx --conditions=source bench/connectors.ts [--writers 1,10,100] [--duration 5] [--warmup 1] [--window 8]
 *                               [--payload 100] [--workers 2] [--stacks sqlite,postgres]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './lib/args.ts';
import { mean, mergeHistograms, percentile, type HistogramSnapshot } from './lib/checks.ts';
import { postgresVersions, redisVersions, sqliteVersions, startServices, type ExternalService } from './lib/connector-stores.ts';
import { monoMs } from './lib/raw-client.ts';
import {
  cpuDelta, cpuSeconds, deepstreamArgs, descendantCpu, descendants, forkWorker, nextMessage, onStop, runBenchmark, SETUP_TIMEOUT_MS, shares, sleep, startServer, stopWorkers,
  type ConnectorResult, type ServerProcess, type Worker,
} from './lib/proc.ts';
import { f, fileSizes, sumOf as sum, table } from './lib/report.ts';

const cores = cpus().length;
const CONFIG = 'bench/connectors.config.ts';
const POSTGRES_TABLE = 'ds_records'; // As set in bench/connectors.config.ts (and the connectors' defaults).
const REDIS_KEY_PREFIX = 'ds:';

const opt = cli({ writers: 'BENCH_WRITERS', duration: 'BENCH_DURATION', warmup: 'BENCH_WARMUP', window: 'BENCH_WINDOW', payload: 'BENCH_PAYLOAD', workers: 'BENCH_WRITER_WORKERS', stacks: 'BENCH_STACKS', 'cpu-prof': '' });
const WRITER_COUNTS = opt.ints('writers', '1,10,100', 1, 2000);
const DURATION_MS = Math.round(opt.num('duration', 5, 0.1, 600) * 1000);
const WARMUP_MS = Math.round(opt.num('warmup', 1, 0, 600) * 1000); // Unmeasured writing at the start of every run (fresh records, connections, JIT).
const WINDOW = opt.int('window', 8, 1, 1000); // Acknowledged writes each writer keeps in flight.
const PAYLOAD_BYTES = opt.int('payload', 100, 20, 1 << 20);
const WORKERS = opt.int('workers', 2, 1, 64);
type StackKey = 'sqlite' | 'postgres';
const STACKS = opt.words('stacks', 'sqlite,postgres', ['sqlite', 'postgres'] as const);
if (STACKS.length === 0) throw new Error('--stacks / BENCH_STACKS: no stack to run');
const CPU_PROF_DIR = opt.given('cpu-prof') ? opt.text('cpu-prof', '') : undefined; // Each server writes a V8 CPU profile into `<dir>/<stack>` when it stops.
/** PostgreSQL's postmaster and backends and redis-server, as real-servers.ts starts them (descendants of this process). */
const SERVICES = new Set(['postgres', 'redis-server']);

const START_LEAD_MS = 300; // Time between the parent's "go" and the writers' first write, so that every worker starts together.
const WORKER_DRAIN_MS = 10_000; // The writer workers wait this long for writes in flight after the window (worker.ts).

// Stacks

/** A stack: its server, where its data lives, and the versions its storage (and cache, where readable from outside) hold. */
type Stack = { key: StackKey; label: string; server: ServerProcess; where: string; stored(names: readonly string[]): Promise<{ storage: Map<string, number>; cache?: Map<string, number> }> };

let tempDir: string | undefined;
const externals: ExternalService[] = [];
const stacks: Stack[] = [];

const SERVER_STOP_GRACE_MS = 10_000; // Long enough for a server to drain its write queues and close its connectors.

function startStackServer(label: string, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const profile = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF_DIR, env.BENCH_STACK ?? label)];
  return startServer({ name: `server ${label}`, args: (port) => deepstreamArgs(port, ['--config', CONFIG], profile), env, stopGraceMs: SERVER_STOP_GRACE_MS });
}

async function startStacks(): Promise<string | undefined> {
  const dir = (tempDir = mkdtempSync(join(tmpdir(), 'deepstream-bench-connectors-')));
  // PostgreSQL runs as the `postgres` user when we are root: it must be able to reach its data
  // directory (real-servers.ts creates and chowns it) inside this one.
  chmodSync(dir, 0o711);
  let skipped: string | undefined;
  if (STACKS.includes('sqlite')) {
    const file = join(dir, 'sqlite', 'records.sqlite');
    const server = await startStackServer('a', { BENCH_STACK: 'sqlite', BENCH_SQLITE_FILE: file });
    stacks.push({ key: 'sqlite', label: '(a) sqlite+memory', server, where: `SQLite file ${file}, memory cache`, stored: async (names) => ({ storage: sqliteVersions(file, names) }) });
  }
  if (STACKS.includes('postgres')) {
    const services = await startServices(dir);
    if ('skip' in services) {
      skipped = services.skip;
    } else {
      externals.push(services.postgres, services.redis);
      const { postgres, redis } = services;
      const server = await startStackServer('b', { BENCH_STACK: 'postgres', BENCH_POSTGRES_URL: postgres.url, BENCH_REDIS_URL: redis.url });
      stacks.push({
        key: 'postgres',
        label: '(b) postgres+redis',
        server,
        where: `PostgreSQL ${postgres.url} (table ${POSTGRES_TABLE}), Redis ${redis.url} (keys ${REDIS_KEY_PREFIX}…)`,
        stored: async (names) => {
          const [storage, cache] = await Promise.all([postgresVersions(postgres.url, POSTGRES_TABLE, names), redisVersions(redis.url, REDIS_KEY_PREFIX, names)]);
          return { storage, cache };
        },
      });
    }
  }
  return skipped;
}

// One run: N writers on one stack


type Run = Awaited<ReturnType<typeof runOnce>>;
let runCounter = 0;
const INVOCATION = Date.now().toString(36); // Record names are unique to this invocation too: an external POSTGRES_URL / REDIS_URL keeps earlier runs' records.

/** Every acknowledged version must be stored (and cached); with nothing left in flight, exactly the last one sent. */
async function checkStored(stack: Stack, names: string[], lastAcked: number[], lastSent: number[]): Promise<string[]> {
  const found: string[] = [];
  const stored = await stack.stored(names).catch((error: unknown) => `read-back failed: ${error instanceof Error ? error.message : String(error)}`);
  if (typeof stored === 'string') return [stored];
  for (const [where, versions] of [['storage', stored.storage], ['cache', stored.cache]] as const) {
    if (versions === undefined) continue;
    let [missing, behind, sample] = [0, 0, ''];
    names.forEach((name, i) => {
      const acked = lastAcked[i] ?? 0;
      const sent = lastSent[i] ?? 0;
      if (acked === 0) return; // nothing acknowledged, nothing promised
      const version = versions.get(name);
      if (version === undefined) missing++;
      else if (version < acked || (acked === sent && version !== sent)) {
        behind++;
        sample ||= ` (e.g. ${name}: v${version}, acknowledged v${acked}, sent v${sent})`;
      }
    });
    if (missing > 0) found.push(`${missing} acknowledged record(s) missing from the ${where}`);
    if (behind > 0) found.push(`${behind} record(s) at another version in the ${where} than acknowledged${sample}`);
  }
  return found;
}

async function runOnce(stack: Stack, writers: number) {
  const prefix = `bench/connectors/${INVOCATION}/run${++runCounter}`;
  const workerCount = Math.min(WORKERS, writers);
  const workers: Worker[] = [];
  try {
    let first = 0;
    for (const share of shares(writers, workerCount)) {
      workers.push(forkWorker({ role: 'connector-writer', url: stack.server.url, payloadBytes: PAYLOAD_BYTES, names: Array.from({ length: share }, (_, i) => `${prefix}/w${first + i}`) }));
      first += share;
    }
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
    await sleep(200); // let connection setup work finish everywhere

    const doneTimeout = START_LEAD_MS + WARMUP_MS + DURATION_MS + WORKER_DRAIN_MS + 20_000;
    const done = workers.map((w) => nextMessage(w, 'done', doneTimeout));
    for (const d of done) d.catch(() => {}); // awaited below
    const startAt = monoMs() + START_LEAD_MS;
    for (const w of workers) w.post({ type: 'go', go: { startAt, warmupMs: WARMUP_MS, durationMs: DURATION_MS, window: WINDOW } });

    // CPU over the measured window: the server, PostgreSQL + Redis, the load generators.
    const loadPids = [process.pid, ...workers.map((w) => w.pid ?? 0)];
    const sample = () => ({ wall: monoMs(), server: cpuSeconds(stack.server.pid), services: descendantCpu(SERVICES), load: loadPids.map(cpuSeconds) });
    await sleep(startAt + WARMUP_MS - monoMs());
    const before = sample();
    await sleep(startAt + WARMUP_MS + DURATION_MS - monoMs());
    const after = sample();
    const results = (await Promise.all(done)).map((m) => m.result as ConnectorResult);

    const names = Array.from({ length: writers }, (_, i) => `${prefix}/w${i}`);
    const lastAcked = results.flatMap((r) => r.lastAcked);
    const lastSent = results.flatMap((r) => r.lastSent);
    const perWriter = results.flatMap((r) => r.perWriterInWindow);
    const errors: Record<string, number> = {};
    for (const r of results) for (const [kind, n] of Object.entries(r.errors)) errors[kind] = (errors[kind] ?? 0) + n;
    const total = (key: 'written' | 'acked' | 'ackedInWindow' | 'unacked' | 'outOfOrder' | 'stoppedByError' | 'closed') => sum(results.map((r) => r[key]));
    const [ackedInWindow, unacked, outOfOrder, stopped, closed] = (['ackedInWindow', 'unacked', 'outOfOrder', 'stoppedByError', 'closed'] as const).map(total) as [number, number, number, number, number];

    const problems: string[] = [];
    if (Object.keys(errors).length > 0) problems.push(`received ${Object.entries(errors).map(([kind, n]) => `${n} × ${kind}`).join(', ')}`);
    if (stopped > 0) problems.push(`${stopped} writer(s) stopped by an error reply`);
    if (unacked > 0) problems.push(`${unacked} write(s) never acknowledged`);
    if (outOfOrder > 0) problems.push(`${outOfOrder} ack(s) out of order`);
    if (closed > 0) problems.push(`${closed} connection(s) closed by the server`);
    if (ackedInWindow === 0) problems.push('no write acknowledged in the window');
    if (perWriter.length !== writers || names.length !== lastAcked.length) problems.push(`${perWriter.length} of ${writers} writers reported`);
    else problems.push(...(await checkStored(stack, names, lastAcked, lastSent)));

    const windowSec = (after.wall - before.wall) / 1000;
    const serverCpuSec = after.server - before.server;
    const serviceCpuSec = stack.key === 'postgres' ? cpuDelta(before.services, after.services) : 0;
    return {
      stack, writers, written: total('written'), acked: total('acked'), ackedInWindow, ackedPerSec: ackedInWindow / (DURATION_MS / 1000),
      /** Ack latency, µs. */
      latency: mergeHistograms(results.map((r) => r.latency)),
      /** Fewest / most acknowledgements one writer got inside the window (fairness). */
      perWriterMin: Math.min(...perWriter), perWriterMax: Math.max(...perWriter),
      /** % of one core over the measured window; PostgreSQL + Redis (stack b; NaN for a, whose storage runs in the server). */
      serverCpu: (serverCpuSec / windowSec) * 100, serviceCpu: stack.key === 'postgres' ? (serviceCpuSec / windowSec) * 100 : NaN,
      loadCpu: ((sum(after.load) - sum(before.load)) / windowSec) * 100,
      loadCpuParts: after.load.map((v, i) => ((v - (before.load[i] ?? 0)) / windowSec) * 100),
      cpuPerWriteUs: ackedInWindow > 0 ? ((serverCpuSec + serviceCpuSec) / ackedInWindow) * 1e6 : NaN, problems,
      errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
    };
  } finally {
    await stopWorkers(workers);
  }
}

// Output

const { count: rate, ms, ratio } = f;
const pct = (v: number) => (Number.isNaN(v) ? '-' : f.pct(v));
/** Latency percentiles in ms, from the µs histogram. */
const lat = (h: HistogramSnapshot, p: number) => percentile(h, p) / 1000;
const loadText = () => loadavg().map((v) => v.toFixed(2)).join(' ');

async function main(): Promise<void> {
  console.log(
    `connectors benchmark: node ${process.version}, ${cores} cores, load average ${loadText()}; ${WRITER_COUNTS.join('/')} writers, each on its own record with ${WINDOW} acknowledged ` +
      `writes in flight (CREATEANDUPDATE v1, then UPDATE, ${PAYLOAD_BYTES}-byte JSON, isWriteAck + correlationId); ${WARMUP_MS / 1000} s warm-up + ` +
      `${DURATION_MS / 1000} s measured per run; ${WORKERS} writer worker process(es); stacks: ${STACKS.join(', ')}`,
  );
  const skipped = await startStacks();
  if (skipped !== undefined) console.log(`stack (b) postgres+redis skipped: ${skipped}; running (a) only`);
  if (stacks.length === 0) return void console.log('no stack to run');
  for (const s of stacks) console.log(`${s.label}: server pid ${s.server.pid} at ${s.server.url}; ${s.where}`);

  const runs: Run[] = [];
  for (const n of WRITER_COUNTS) {
    for (const stack of stacks) {
      console.log(`\n${stack.label}: ${n} writer(s) × ${WINDOW} in flight, ${WARMUP_MS / 1000} + ${DURATION_MS / 1000} s...`);
      const r = await runOnce(stack, n);
      runs.push(r);
      const l = r.latency;
      console.log(
        `  ${rate(r.ackedPerSec)} acked writes/s (${rate(r.ackedInWindow)} in the window; ${rate(r.written)} sent, ${rate(r.acked)} acknowledged over the run); ` +
          `ack latency min ${ms(l.min / 1000)} / p50 ${ms(lat(l, 50))} / p90 ${ms(lat(l, 90))} / p99 ${ms(lat(l, 99))} / max ${ms(l.max / 1000)} / mean ${ms(mean(l) / 1000)}; ` +
          `per writer ${rate(r.perWriterMin)}..${rate(r.perWriterMax)} acks in the window; server CPU ${pct(r.serverCpu)}` +
          (r.stack.key === 'postgres' ? `, PostgreSQL + Redis ${pct(r.serviceCpu)}` : '') +
          `, load generators ${pct(r.loadCpu)} (${r.loadCpuParts.map(pct).join(' + ')} = this script + writer workers); ${rate(r.cpuPerWriteUs)} µs CPU per write; ` +
          (r.problems.length === 0 ? 'every write acknowledged, in order, no error replies; storage holds the acknowledged versions' : `PROBLEMS: ${r.problems.join('; ')}`),
      );
      for (const s of r.errorSamples) console.log(`  received: ${s}`);
      await sleep(300);
    }
  }

  const byKey = (key: StackKey, n: number) => runs.find((r) => r.stack.key === key && r.writers === n);
  console.log('\n=============================== SUMMARY ===============================');
  console.log(
    `\nAcknowledged record writes: each writer alone on its own record, ${WINDOW} writes in flight, ${PAYLOAD_BYTES}-byte UPDATEs; ` +
      `${DURATION_MS / 1000} s measured after ${WARMUP_MS / 1000} s of warm-up`,
  );
  console.log(
    table(
      ['stack', 'writers', 'acked writes/s', 'p50 ack', 'p99 ack', 'server CPU', 'PG+Redis CPU', 'CPU/write', 'loadgen CPU', '(b)/(a) writes/s', 'checks'],
      runs.map((r) => {
        const a = byKey('sqlite', r.writers);
        const b = r.stack.key === 'postgres';
        return [r.stack.label, String(r.writers), rate(r.ackedPerSec), ms(lat(r.latency, 50)), ms(lat(r.latency, 99)), pct(r.serverCpu), b ? pct(r.serviceCpu) : 'in server', `${rate(r.cpuPerWriteUs)} µs`, pct(r.loadCpu), b && a !== undefined ? ratio(r.ackedPerSec / a.ackedPerSec) : '', r.problems.length === 0 ? 'ok' : r.problems.join('; ')];
      }),
      1,
      1,
    ),
  );
  const pairs = WRITER_COUNTS.map((n) => [n, byKey('sqlite', n), byKey('postgres', n)] as const).filter((p): p is readonly [number, Run, Run] => p[1] !== undefined && p[2] !== undefined);
  if (pairs.length > 0) {
    console.log('\n(b) postgres+redis relative to (a) sqlite+memory, per writer count:');
    console.log(
      table(
        ['writers', 'acked writes/s (b)/(a)', 'p50 ack (b)/(a)', 'p99 ack (b)/(a)', 'CPU/write (b)/(a)'],
        pairs.map(([n, a, b]) => [String(n), ratio(b.ackedPerSec / a.ackedPerSec), ratio(lat(b.latency, 50) / lat(a.latency, 50)), ratio(lat(b.latency, 99) / lat(a.latency, 99)), ratio(b.cpuPerWriteUs / a.cpuPerWriteUs)]),
        0,
      ),
    );
  }
  console.log(
    `\nacked writes/s: WRITE_ACKNOWLEDGEMENTs received in the measured window / its length; the server acknowledges once storage and cache both have the write.`,
  );
  console.log(`ack latency: write sent → its WRITE_ACKNOWLEDGEMENT, acks in the window (log histogram, ~1.2% resolution).`);
  console.log(
    `CPU: % of one core over the window (${cores} cores shared by everything); PG+Redis: every PostgreSQL and Redis process; CPU/write: (server + PG + Redis) CPU time per acked write.`,
  );
  if (stacks.some((s) => s.key === 'sqlite') && tempDir !== undefined) console.log(`SQLite files at the end: ${fileSizes(join(tempDir, 'sqlite'))}`);
  console.log(`load average at the end: ${loadText()} (other work on the machine competes for the same ${cores} cores)`);
  if (skipped !== undefined) console.log(`(b) was skipped: ${skipped}`);
  for (const s of stacks) if (s.server.warnings.length > 0) console.log(`server ${s.label} printed ${s.server.warnings.length} line(s) at warn or worse`);
}

// Bounds and cleanup

// After the servers (they close their connectors first): the database servers, then the files.
onStop(async () => {
  for (const service of externals.splice(0)) {
    await service.stop().catch((error: unknown) => process.stderr.write(`stopping a database server failed: ${String(error)}\n`));
  }
  const leftovers = descendants(SERVICES);
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL'); // last resort: a database server of ours still alive
    } catch {
      // already gone
    }
  }
  if (leftovers.length > 0) process.stderr.write(`killed ${leftovers.length} leftover database process(es): ${leftovers.join(', ')}\n`);
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
});

const HARD_LIMIT_MS =
  180_000 + STACKS.length * WRITER_COUNTS.length * (SETUP_TIMEOUT_MS + START_LEAD_MS + WARMUP_MS + DURATION_MS + WORKER_DRAIN_MS + 30_000);
await runBenchmark('benchmark', HARD_LIMIT_MS, main);
