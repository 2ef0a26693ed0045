/**
 * What bench/cluster.ts prints: a line per run, the table of 3 nodes against 1 node, and for each
 * scenario which process would saturate first — a node or Redis — from the CPU each one spent per
 * message sent.
 */
import type { RunResult } from './cluster-runs.ts';

const OUR_COMMANDS = /^(info|pubsub)/; // the script's own readings of Redis

const count = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}%` : 'n/a');
const micros = (v: number) => (!Number.isFinite(v) ? 'n/a' : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const unitOf = (r: RunResult) => (r.scenario.startsWith('events') ? 'emit' : 'write');

/** Commands of the cluster and cache paths first; the rest (a script's own GET/SET included) after. */
const FIRST_COMMANDS = ['publish', 'eval'];
const order = (command: string) => (FIRST_COMMANDS.includes(command) ? FIRST_COMMANDS.indexOf(command) : FIRST_COMMANDS.length);

const perSec = (r: RunResult, command: string) => (r.redisCalls.get(command) ?? 0) / r.busySec;

/** Redis commands the servers sent, per second ("publish 12,345/s, eval 600/s"). */
function redisCalls(r: RunResult): string {
  const commands = [...r.redisCalls.keys()].filter((command) => !OUR_COMMANDS.test(command) && perSec(r, command) >= 1);
  commands.sort((a, b) => order(a) - order(b) || perSec(r, b) - perSec(r, a));
  return commands.length === 0 ? 'none' : commands.map((command) => `${command} ${count(perSec(r, command))}/s`).join(', ');
}

function nodeCpu(r: RunResult): string {
  return r.nodeLabels.map((label, i) => `${label} ${pct(r.nodeCpu[i] ?? NaN)}`).join(' · ');
}

/** Server-side processes (nodes and Redis) with their CPU, % of one core. */
function serverProcesses(r: RunResult): Array<[string, number]> {
  return [...r.nodeLabels.map((label, i): [string, number] => [`node ${label}`, r.nodeCpu[i] ?? NaN]), ['Redis', r.redisCpu]];
}

function busiest(r: RunResult): [string, number] {
  return serverProcesses(r).reduce((a, b) => (b[1] > a[1] ? b : a));
}

/** The processes of the run (nodes, Redis, load generators) as a share of all cores. */
function ourShare(r: RunResult, cores: number): number {
  return (sum(r.nodeCpu) + r.redisCpu + r.loadCpu) / cores;
}

/** CPU of every server-side process (the nodes and Redis) per message delivered: what clustering costs. */
function serverUsPerDelivery(r: RunResult): number {
  const cores = (sum(r.nodeCpu) + r.redisCpu) / 100;
  return (cores * r.busySec * 1e6) / r.delivered;
}

const checks = (r: RunResult) => (r.problems.length === 0 ? 'ok' : 'INVALID');

export function runLine(r: RunResult): string {
  return (
    `  [${r.layout}] ${r.scenario}: ${count(r.sent)} ${unitOf(r)}s (${count(r.sentPerSec)}/s) → ${count(r.delivered)} deliveries (${count(r.deliveredPerSec)}/s) over ${r.busySec.toFixed(1)} s; ` +
    `CPU nodes ${nodeCpu(r)}, Redis ${pct(r.redisCpu)}, load generators ${pct(r.loadCpu)}; Redis ${redisCalls(r)}; ` +
    (r.problems.length === 0 ? 'every subscriber got every message once, in order' : `INVALID RUN: ${r.problems.join('; ')}`)
  );
}

export interface Pair {
  scenario: string;
  /** The median runs. */
  single: RunResult;
  cluster: RunResult;
  /** cluster / single deliveries/s of each repeat, run against run. */
  ratios: number[];
}

/** The run with the median deliveries/s (of an even number, the lower middle one). */
function medianRun(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.deliveredPerSec - b.deliveredPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)] as RunResult;
}

/** One pair per scenario, in the order the scenarios ran. */
export function pairUp(results: RunResult[], singleName: string, clusterName: string): Pair[] {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  return scenarios.flatMap((scenario) => {
    const of = (layout: string) => results.filter((r) => r.scenario === scenario && r.layout === layout);
    const singles = of(singleName);
    const clusters = of(clusterName);
    if (singles.length === 0 || clusters.length === 0) return [];
    const ratios = clusters.slice(0, singles.length).map((c, i) => c.deliveredPerSec / (singles[i] as RunResult).deliveredPerSec);
    return [{ scenario, single: medianRun(singles), cluster: medianRun(clusters), ratios }];
  });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i >= cells.length - 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** "0.29x", and with several repeats the range of the per-repeat ratios: "0.29x (0.21-0.35)". */
function ratioText(p: Pair): string {
  const ratio = `${(p.cluster.deliveredPerSec / p.single.deliveredPerSec).toFixed(2)}x`;
  return p.ratios.length < 2 ? ratio : `${ratio} (${Math.min(...p.ratios).toFixed(2)}-${Math.max(...p.ratios).toFixed(2)})`;
}

export function summaryTable(pairs: Pair[], cores: number): string {
  const row = (r: RunResult, ratio: string) => [
    r.scenario,
    r.layout,
    count(r.sentPerSec),
    count(r.deliveredPerSec),
    ratio,
    micros(serverUsPerDelivery(r)),
    pct(r.redisCpu),
    pct(r.machineBusy),
    pct(ourShare(r, cores)),
    nodeCpu(r),
    redisCalls(r),
    checks(r),
  ];
  return table(
    ['scenario', 'layout', 'sent/s', 'deliveries/s', '3 nodes / 1 node', 'server µs/delivery', 'Redis CPU', 'machine busy', 'ours', 'node CPU (% of a core)', 'Redis commands', 'checks'],
    pairs.flatMap((p) => [row(p.single, ''), row(p.cluster, ratioText(p))]),
  );
}

/**
 * Where the cluster's time goes: CPU per message sent for each node and for Redis, and the rate at
 * which each would fill one core if that cost stayed the same (a linear extrapolation: it ignores
 * that the processes share the machine). The lowest such rate says who saturates first.
 */
export function bottleneckNote(p: Pair, cores: number): string {
  const r = p.cluster;
  const unit = unitOf(r);
  // CPU over the busy span (drain included) divided by everything sent in it.
  const costs = serverProcesses(r).map(([name, cpu]) => {
    const usPer = ((cpu / 100) * r.busySec * 1e6) / r.sent;
    return { name, usPer, ceiling: 1e6 / usPer };
  });
  const first = costs.reduce((a, b) => (b.ceiling < a.ceiling ? b : a));
  const redis = costs.find((c) => c.name === 'Redis');
  const [busyName, busyCpu] = busiest(r);
  const publishes = r.redisCalls.get('publish') ?? 0;
  const lines = [
    `${p.scenario} on ${r.layout}: busiest server process ${busyName} (${pct(busyCpu)} of a core), Redis ${pct(r.redisCpu)}; machine ${pct(r.machineBusy)} busy (${cores} cores), ${pct(ourShare(r, cores))} by this benchmark's processes.`,
    `  CPU per ${unit}: ${costs.map((c) => `${c.name} ${micros(c.usPer)} µs`).join(', ')}; one core each would carry about ${costs.map((c) => `${c.name} ${count(c.ceiling)}`).join(', ')} ${unit}s/s.`,
    `  Redis traffic: ${count(perSec(r, 'publish'))} PUBLISH/s in (${perPublish(publishes, r.sent, unit)}, whatever the subscriber count), ${count(perSec(r, 'publish') * r.redisChannelSubscribers)} messages/s out to the ${r.redisChannelSubscribers} subscribed nodes` +
      (unit === 'write' ? `; plus the shared cache's ${count(perSec(r, 'eval'))} EVAL/s (${((r.redisCalls.get('eval') ?? 0) / r.sent).toFixed(2)} per write: the compare-and-set script, also on 1 node).` : '.'),
  ];
  if (redis !== undefined && first.name === 'Redis') lines.push(`  → Redis saturates first here: it is the bottleneck of this scenario.`);
  else if (redis !== undefined) lines.push(`  → ${first.name} saturates first; Redis would reach a full core at ${(redis.ceiling / first.ceiling).toFixed(1)}x that rate: Redis is not the bottleneck here.`);
  return lines.join('\n');
}

export function problemsOf(results: RunResult[]): string[] {
  return results.filter((r) => r.problems.length > 0).map((r) => `${r.scenario} on ${r.layout}: ${r.problems.join('; ')}`);
}

/** Publishes per message, or, once a node batches a turn's messages, messages per publish. */
function perPublish(publishes: number, sent: number, unit: string): string {
  if (publishes === 0) return `no PUBLISH for ${count(sent)} ${unit}s`;
  const ratio = publishes / sent;
  return ratio >= 0.5 ? `${ratio.toFixed(2)} per ${unit}` : `${count(sent / publishes)} ${unit}s per PUBLISH: a turn's messages are batched`;
}
