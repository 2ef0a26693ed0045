/**
 * Cluster benchmark: event fan-out and record updates on three nodes against the same load on one
 * node with the same config, as ratios, and which process saturates first, a node or Redis. Needs
 * redis-server (without it, says so and exits 0); exits 1 if a run lost, repeated or reordered a message.
 *   npx tsx --conditions=source bench/cluster.ts [--repeats 3] [--duration 2] [--subscribers 30,300] [--record-subscribers 30,300] [--cpu-prof DIR]
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { cli } from './lib/args.ts';
import { bottleneckNote, clusterRun, pairUp, problemsOf, runLine, startBenchRedis, startLayout, summaryTable, type BenchRedis, type Layout, type RunResult, type RunSettings } from './lib/cluster.ts';
import { log, onStop, runBenchmark, sleep } from './lib/proc.ts';

const cores = cpus().length;
const loadAverage = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const startLoad = loadAverage();
const HARD_LIMIT_MS = 10 * 60_000;

const opt = cli({ subscribers: '', 'record-subscribers': '', duration: '', warmup: '', repeats: '', payload: '', 'max-lag': '', 'sub-workers': '', 'cpu-prof': '' });
const EVENT_SUBSCRIBERS = opt.ints('subscribers', '30,300', 0, 5000).filter((n) => n > 0);
const RECORD_SUBSCRIBERS = opt.ints('record-subscribers', '30,300', 0, 5000).filter((n) => n > 0);
const WARMUP_MS = Math.round(opt.num('warmup', 2) * 1000);
const REPEATS = opt.int('repeats', 3, 1);
/** Run every node under `node --cpu-prof`, one directory per node (profiles are written when it stops). */
const CPU_PROF_DIR = opt.given('cpu-prof') ? resolve(opt.text('cpu-prof', '')) : undefined;
const SETTINGS: RunSettings = {
  durationMs: Math.round(opt.num('duration', 2, 0.1) * 1000),
  payloadBytes: opt.int('payload', 100, 48),
  maxLagMs: opt.num('max-lag', 300),
  subscriberWorkers: opt.int('sub-workers', 3, 1),
};

// Setup: Redis, one lone node, three clustered nodes

async function startLayouts(redis: BenchRedis): Promise<[Layout, Layout]> {
  const layouts = await Promise.all([startLayout('1 node', 'single', [['single', 'single']], redis, CPU_PROF_DIR), startLayout('3 nodes', 'cluster', [['A', 'a'], ['B', 'b'], ['C', 'c']], redis, CPU_PROF_DIR)]);
  for (const n of layouts.flatMap((l) => l.nodes)) log(`node ${n.label}: pid ${n.pid}, ${n.url}`);
  return layouts;
}

// Runs

let recordNames = 0;
type Scenario = (layout: Layout) => Promise<RunResult>;

function scenarios(redis: BenchRedis): Scenario[] {
  const events = (s: number): Scenario => (l) => clusterRun(l, redis, s, SETTINGS);
  // A fresh record per run: every run starts at v0, whatever earlier runs wrote.
  const records = (k: number): Scenario => (l) => clusterRun(l, redis, k, SETTINGS, `bench/cluster-${++recordNames}`);
  return [...EVENT_SUBSCRIBERS.map(events), ...RECORD_SUBSCRIBERS.map(records)];
}

function assertAlive(layouts: Layout[]): void {
  for (const n of layouts.flatMap((l) => l.nodes)) {
    if (n.process.exitCode !== null || n.process.signalCode !== null) throw new Error(`node ${n.label} is gone (exit ${n.process.exitCode ?? n.process.signalCode})`);
  }
}

/** Unreported short runs on every layout first, so that each node's JIT is warm for the first measured run. */
async function warmUp(layouts: Layout[], redis: BenchRedis): Promise<RunResult[]> {
  const settings = { ...SETTINGS, durationMs: WARMUP_MS };
  const results: RunResult[] = [];
  for (const l of layouts) {
    results.push(await clusterRun(l, redis, 30, settings));
    results.push(await clusterRun(l, redis, 30, settings, `bench/cluster-warmup-${++recordNames}`));
  }
  // Unreported, but checked like every run: a lost message is a lost message.
  const named = results.map((r) => ({ ...r, scenario: `warm-up ${r.scenario}` }));
  for (const r of named) if (r.problems.length > 0) log(runLine(r));
  return named;
}

/** Every scenario on both layouts, alternating which layout goes first from one repeat to the next. */
async function measureAll(layouts: [Layout, Layout], redis: BenchRedis): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const order = repeat % 2 === 0 ? layouts : ([layouts[1], layouts[0]] as const);
    log(`repeat ${repeat + 1} of ${REPEATS}`);
    for (const run of scenarios(redis)) {
      for (const l of order) {
        assertAlive(layouts);
        const result = await run(l);
        log(runLine(result));
        results.push(result);
        await sleep(300);
      }
    }
  }
  return results;
}

function printSummary(results: RunResult[], layouts: [Layout, Layout], warnings: number, seconds: number): void {
  const pairs = pairUp(results, layouts[0].name, layouts[1].name);
  console.log(`\n=== Cluster benchmark: ${layouts[1].name} against ${layouts[0].name} (${REPEATS > 1 ? `the median of ${REPEATS} runs each` : 'one run each'}) ===`);
  console.log(
    `Both layouts run bench/cluster.config.ts (open auth, events, records in the shared Redis cache, the Redis cluster connector): only the node count differs.\n` +
      `The lone node is a cluster of one: with no peers it publishes nothing to Redis, but its records still go through the Redis cache.\n` +
      `Publisher / writer on the first node; ${SETTINGS.subscriberWorkers} subscriber worker processes, one per node on 3 nodes, all on the one node otherwise.\n` +
      `${SETTINGS.durationMs / 1000} s send windows, ${SETTINGS.payloadBytes}-byte payloads, flow control ${SETTINGS.maxLagMs} ms. ${cores} cores shared by every process: compare ratios, not absolute figures.\n`,
  );
  console.log(summaryTable(pairs, cores));
  console.log(
    `\nsent/s: emits or record writes per second of the send window; deliveries/s: messages received, summed over all subscribers, first send to last delivery;\n` +
      `CPU: % of one core from the first send to the last delivery (/proc/<pid>/stat); machine busy: all ${cores} cores, whoever used them (/proc/stat);\n` +
      `ours: this benchmark's processes (nodes, Redis, load generators) as a share of all cores — the rest of "machine busy" is other work on the machine;\n` +
      `3 nodes / 1 node: deliveries/s of the median runs${REPEATS > 1 ? ', and in brackets the range of the ratios run against run' : ''};\n` +
      `server µs/delivery: CPU of the nodes and Redis together per message delivered (the server-side cost of a delivery);\n` +
      `Redis commands: calls per second from Redis's INFO commandstats over the same span (a script's own GET/SET calls are counted too);\n` +
      `checks: ok = every subscriber got every message exactly once, in order.\n`,
  );
  console.log('Where the time goes on 3 nodes (CPU per message sent; "one core would carry" extrapolates that cost linearly):');
  for (const p of pairs) console.log(bottleneckNote(p, cores));
  if (warnings > 0) console.log(`\nThe nodes printed ${warnings} unexpected warning line(s); the first ones are above with a [node …] prefix.`);
  if (CPU_PROF_DIR !== undefined) console.log(`\nCPU profiles of the nodes (written as they stop) in ${CPU_PROF_DIR}/<node name>; open them in Chrome DevTools.`);
  console.log(`\ntotal ${seconds.toFixed(0)} s; load average ${loadAverage()} at the end, ${startLoad} at the start`);
}

async function main(): Promise<number> {
  const started = performance.now();
  log(
    `cluster benchmark: node ${process.version}, ${cores} cores; events to ${EVENT_SUBSCRIBERS.join('/')} subscribers, records to ${RECORD_SUBSCRIBERS.join('/')}; ` +
      `${SETTINGS.durationMs / 1000} s windows after a ${WARMUP_MS / 1000} s warm-up; ${REPEATS} repeat(s)`,
  );
  const redis = await startBenchRedis();
  if ('skip' in redis) {
    console.log(`cluster benchmark skipped: ${redis.skip}.\nInstall Redis (e.g. \`bash scripts/ensure-services.sh\`, or apt-get install redis-server) and run it again.`);
    return 0;
  }
  onStop(() => redis.stop());
  log(`redis-server pid ${redis.pid ?? 'not found (its CPU reads n/a)'} at ${redis.url}`);

  const layouts = await startLayouts(redis);
  const warmUpResults = WARMUP_MS > 0 ? await warmUp(layouts, redis) : [];
  log(`warm-up done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const results = await measureAll(layouts, redis);
  assertAlive(layouts);

  const warnings = layouts.flatMap((l) => l.nodes).reduce((sum, n) => sum + n.warnings.length, 0);
  printSummary(results, layouts, warnings, (performance.now() - started) / 1000);
  const problems = problemsOf([...warmUpResults, ...results]);
  if (problems.length === 0) return 0;
  console.log(`\n!!! INVALID: ${problems.length} run(s) lost, repeated or reordered messages; their figures do not count:`);
  for (const p of problems) console.log(`!!!   ${p}`);
  return 1;
}

await runBenchmark('cluster benchmark', HARD_LIMIT_MS, main);
