/**
 * Does cluster traffic follow interest? (issue #18) Event fan-out on clusters of 1, 2 and 3 nodes
 * over one Redis: (a) two nodes, everything on A: B's CPU against A's (target < 5 %); (b) subscribers
 * spread evenly: deliveries/s and node CPU per delivery; (c) Redis CPU per delivery. Exits 1 if any
 * subscriber missed, repeated or reordered an event.
 *   npx tsx --conditions=source bench/cluster-interest.ts [--subscribers 300] [--duration 2] [--repeats 3]
 */
import { cpus } from 'node:os';
import { cli } from './lib/args.ts';
import { clusterRun, startBenchRedis, startLayout, type BenchRedis, type Layout, type RunResult, type RunSettings } from './lib/cluster.ts';
import { log, onStop, runBenchmark, sleep } from './lib/proc.ts';
import { median, sumOf as sum, table } from './lib/report.ts';

const opt = cli({ subscribers: '', duration: '', repeats: '', payload: '' });
const SUBSCRIBERS = opt.int('subscribers', 300, 1, 5000);
const REPEATS = opt.int('repeats', 3, 1);
const SETTINGS: RunSettings = { durationMs: opt.num('duration', 2, 0.1) * 1000, payloadBytes: opt.int('payload', 100, 48), maxLagMs: 300, subscriberWorkers: 3 };

const cluster = (name: string, size: number, redis: BenchRedis) =>
  startLayout(`${size} node${size > 1 ? 's' : ''}`, name, ['A', 'B', 'C'].slice(0, size).map((label): [string, string] => [label, `${name}-${label}`]), redis);

/** µs of CPU per delivered message, from % of one core over the busy span. */
const perDelivery = (cpuPercent: number, r: RunResult) => ((cpuPercent / 100) * r.busySec * 1e6) / r.delivered;
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

async function main(): Promise<number> {
  const redis = await startBenchRedis();
  if ('skip' in redis) {
    console.log(`cluster interest benchmark skipped: ${redis.skip}`);
    return 0;
  }
  onStop(() => redis.stop());
  const layouts = [await cluster('one', 1, redis), await cluster('two', 2, redis), await cluster('three', 3, redis)];
  const [one, two, three] = layouts as [Layout, Layout, Layout];
  const idle: RunResult[] = [];
  const spread = new Map<Layout, RunResult[]>(layouts.map((l) => [l, []]));
  await clusterRun(two, redis, 30, { ...SETTINGS, durationMs: 1000 }); // warm-up, unreported
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    log(`repeat ${repeat + 1} of ${REPEATS}`);
    idle.push(await clusterRun(two, redis, SUBSCRIBERS, { ...SETTINGS, placement: 'first' }));
    await sleep(300);
    for (const l of repeat % 2 === 0 ? layouts : [...layouts].reverse()) {
      spread.get(l)!.push(await clusterRun(l, redis, SUBSCRIBERS, SETTINGS));
      await sleep(300);
    }
  }
  const all = [...idle, ...[...spread.values()].flat()];

  console.log(`\n=== Cluster traffic and interest: events to ${SUBSCRIBERS} subscribers, ${SETTINGS.payloadBytes}-byte payloads, ${SETTINGS.durationMs / 1000} s windows, median of ${REPEATS} (${cpus().length} cores shared by every process) ===`);
  const idleRatio = idle.map((r) => (r.nodeCpu[1]! / r.nodeCpu[0]!) * 100);
  const a = median(idle.map((r) => r.nodeCpu[0]!));
  const b = median(idle.map((r) => r.nodeCpu[1]!));
  console.log(`\n(a) 2 nodes, publisher and all subscribers on A, none on B:`);
  console.log(`    node A ${fixed(a)} % of a core, node B ${fixed(b)} %: B/A = ${fixed(median(idleRatio), 2)} % (runs ${idleRatio.map((x) => fixed(x, 2)).join(', ')}); target < 5 %`);
  console.log(`\n(b, c) subscribers spread evenly over the nodes:`);
  const rows = [...spread].map(([l, runs]) => [
    l.name,
    fixed(median(runs.map((r) => r.deliveredPerSec)), 0),
    fixed(median(runs.map((r) => perDelivery(sum(r.nodeCpu), r))), 2),
    fixed(median(runs.map((r) => perDelivery(r.redisCpu, r))), 3),
    fixed(median(runs.map((r) => r.redisCpu))),
  ]);
  console.log(table(['layout', 'deliveries/s', 'node CPU µs/delivery (sum of nodes)', 'Redis CPU µs/delivery', 'Redis % of a core'], rows).replace(/^/gm, '    '));
  const rateOf = (l: Layout) => median(spread.get(l)!.map((r) => r.deliveredPerSec));
  console.log(`    deliveries/s ratio: 2 nodes / 1 node = ${fixed(rateOf(two) / rateOf(one), 2)}, 3 nodes / 1 node = ${fixed(rateOf(three) / rateOf(one), 2)} (on ${cpus().length} cores the nodes share the same cores: more nodes cannot add CPU here)`);
  const problems = all.filter((r) => r.problems.length > 0);
  for (const r of problems) console.log(`!!! ${r.layout} ${r.scenario}: ${r.problems.join('; ')}`);
  return problems.length === 0 ? 0 : 1;
}

await runBenchmark('cluster interest benchmark', 10 * 60_000, main);
