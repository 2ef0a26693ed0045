/**
 * What bench/cluster.ts and cluster-interest.ts share: the throwaway Redis, layouts of nodes, one
 * run on a layout (fanoutRun, sender on the first node, subscriber workers round robin over the
 * nodes), and cluster.ts's report: run lines, 3 nodes against 1, which process saturates first.
 */
import { Redis } from 'ioredis';
import { binaryCodec, EVENT_ACTION, TOPIC } from '@deepstream-ts/core';
import { isSkip, startRedis } from '../../test/services/real-servers.ts';
import { join } from 'node:path';
import { deepstreamArgs, isStopping, processTable, sleep, startServer, type ServerProcess } from './proc.ts';
import { EVENT_EMIT_KIND, frameKind, login, subscribe } from './raw-client.ts';
import { f, sumOf, table } from './report.ts';
import { fanoutProblems, fanoutRun } from './runs.ts';

// Redis

/** The redis-server (pid undefined if not found: its CPU reads n/a); calls per command since it started; connections on a pub/sub channel. */
export type BenchRedis = { url: string; pid: number | undefined; commandCalls(): Promise<Map<string, number>>; channelSubscribers(channel: string): Promise<number>; stop(): Promise<void> };

/**
 * Starts a redis-server of our own, or returns why it cannot. REDIS_URL is ignored on purpose: the
 * figures need a Redis that serves nothing else and whose process we can see.
 */
export async function startBenchRedis(): Promise<BenchRedis | { skip: string }> {
  delete process.env.REDIS_URL;
  const server = await startRedis();
  if (isSkip(server)) return server;
  const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return {
    url: server.url,
    pid: childRedisPid(),
    // `cmdstat_publish:calls=12,usec=…` lines → publish → 12
    commandCalls: async () => new Map([...(await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])])),
    channelSubscribers: async (channel) => Number(((await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]),
    stop: async () => (client.disconnect(), await server.stop()),
  };
}

/** The redis-server that startRedis spawned: a child of this process. */
const childRedisPid = () => [...processTable()].find(([, { comm, ppid }]) => comm === 'redis-server' && ppid === process.pid)?.[0];

/** Calls per command between two commandCalls() readings, only those that changed. */
const callsBetween = (before: Map<string, number>, after: Map<string, number>) => new Map([...after].map(([c, n]): [string, number] => [c, n - (before.get(c) ?? 0)]).filter(([, n]) => n > 0));

// Layouts and runs

/** A node of a layout: A, B, C on three nodes; "single" on one. */
export type ServerNode = ServerProcess & { label: string };
/** nodes[0] hosts the publisher or writer; channelSubscribers: connections on the layout's cluster channel, read from Redis. */
export type Layout = { name: string; nodes: ServerNode[]; channelSubscribers: number };
/** maxLagMs: the sender's flow control; subscriberWorkers go round robin over the nodes, or with placement `first` all on the sender's. */
export type RunSettings = { durationMs: number; payloadBytes: number; maxLagMs: number; subscriberWorkers: number; placement?: 'spread' | 'first' };

export type RunResult = Awaited<ReturnType<typeof clusterRun>>;

/**
 * Events to S subscribers, or (with `record`, a fresh record per run) record updates to K: sender on
 * the first node, subscriber workers round robin over the nodes (or all on the first: `placement`).
 */
export async function clusterRun(layout: Layout, redis: BenchRedis, subscribers: number, settings: RunSettings, record?: string) {
  let before = new Map<string, number>();
  let after = before;
  const node = (i: number) => (layout.nodes[settings.placement === 'first' ? 0 : i % layout.nodes.length] as ServerNode).url;
  const r = await fanoutRun({
    sendUrl: node(0),
    subUrl: node,
    subscribers,
    subWorkers: settings.subscriberWorkers,
    payloadBytes: settings.payloadBytes,
    durationMs: settings.durationMs,
    maxLagMs: settings.maxLagMs,
    record,
    // The writer first: it creates the record on its node, so that no two nodes race to create it.
    writerFirst: true,
    pids: [...layout.nodes.map((n) => n.pid), redis.pid],
    onStart: async () => void (before = await redis.commandCalls()),
    onEnd: async () => void (after = await redis.commandCalls()),
  });
  const n = layout.nodes.length;
  // Deliveries/s: summed over subscribers, first send → last delivery (the busy span, over which the
  // CPU is taken: % of one core per node, Redis, the load generators summed; machine: % of all cores).
  return {
    scenario: record === undefined ? `events S=${subscribers}` : `records K=${subscribers}`, layout: layout.name,
    nodeLabels: layout.nodes.map((x) => x.label), redisChannelSubscribers: layout.channelSubscribers, sent: r.result.sent, sentPerSec: r.sentPerSec,
    delivered: r.counts.received, deliveredPerSec: r.deliveredPerSec, busySec: r.busySec, nodeCpu: r.cpu.slice(0, n), redisCpu: r.cpu[n] ?? NaN,
    loadCpu: sumOf(r.loadCpu), machineBusy: r.machineBusy, redisCalls: callsBetween(before, after),
    problems: [...fanoutProblems(r, subscribers), ...(r.counts.minPerConnection !== r.result.sent || r.counts.maxPerConnection !== r.result.sent ? [`per subscriber ${r.counts.minPerConnection}..${r.counts.maxPerConnection} of ${r.result.sent}`] : [])],
  };
}

/**
 * Starts the nodes of a layout (bench/cluster.config.ts; `cluster` namespaces their Redis keys and
 * channels; each node [label, serverName]) and checks it: the nodes reach each other, and Redis
 * sees exactly them on the cluster channel. With `cpuProfDir`, every node runs under --cpu-prof.
 */
export async function startLayout(name: string, cluster: string, nodes: Array<[string, string]>, redis: BenchRedis, cpuProfDir?: string): Promise<Layout> {
  const started = await Promise.all(
    nodes.map(async ([label, serverName]): Promise<ServerNode> => {
      const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, serverName)];
      const server = await startServer({
        name: `node ${label}`,
        args: (port) => deepstreamArgs(port, ['--config', 'bench/cluster.config.ts', '--host', '127.0.0.1'], profile),
        env: { BENCH_REDIS_URL: redis.url, BENCH_NODE_NAME: serverName, BENCH_CLUSTER_NAME: cluster },
        // No storage plugin on purpose (the cache is shared); once stopping, nodes log each other leaving.
        ignore: (line) => isStopping() || line.includes('no storage connector configured'),
        stopGraceMs: 10_000, // long enough to leave the cluster and write a CPU profile
      });
      return { ...server, label };
    }),
  );
  await waitForCluster(started);
  const channelSubscribers = await redis.channelSubscribers(`bench-${cluster}:cluster:all`);
  if (channelSubscribers !== nodes.length) throw new Error(`${name}: ${channelSubscribers} connections on the cluster channel, expected ${nodes.length}`);
  return { name, nodes: started, channelSubscribers };
}

const PROBE_EVENT = 'bench/cluster-probe';

/**
 * Waits until an event emitted on each node reaches a subscriber on every other node: the nodes
 * found each other (heartbeats) and relay over Redis. One client per node subscribes and emits
 * its node's label every 100 ms.
 */
export async function waitForCluster(nodes: ServerNode[], timeoutMs = 15_000): Promise<void> {
  const clients = await Promise.all(
    nodes.map(async (node) => {
      const ws = await login(node.url);
      await subscribe(ws, PROBE_EVENT);
      const heard = new Set<string>();
      ws.on('message', (data: Buffer) => {
        if (frameKind(data) !== EVENT_EMIT_KIND) return;
        const m = binaryCodec.decode(data);
        if (m?.name === PROBE_EVENT && typeof m.data === 'string') heard.add(JSON.parse(m.data) as string);
      });
      const emit = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: PROBE_EVENT, data: JSON.stringify(node.label) });
      return { node, ws, heard, emit };
    }),
  );
  try {
    const deadline = Date.now() + timeoutMs;
    while (!clients.every((c) => c.heard.size === nodes.length - 1)) {
      if (Date.now() > deadline) {
        const missing = clients.map((c) => `${c.node.label} heard ${[...c.heard].join(',') || 'nobody'}`).join('; ');
        throw new Error(`the nodes did not all reach each other within ${timeoutMs} ms: ${missing}`);
      }
      for (const c of clients) c.ws.send(c.emit);
      await sleep(100);
    }
  } finally {
    for (const c of clients) c.ws.terminate();
  }
}

// Report

const OUR_COMMANDS = /^(info|pubsub)/; // the script's own readings of Redis

const count = (v: number) => (Number.isFinite(v) ? f.count(v) : 'n/a');
const pct = (v: number) => f.pct(v, 0);
const micros = (v: number) => (!Number.isFinite(v) ? 'n/a' : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
const sum = sumOf;
const unitOf = (r: RunResult) => (r.scenario.startsWith('events') ? 'emit' : 'write');

const FIRST_COMMANDS = ['publish', 'eval', 'evalsha']; // Commands of the cluster and cache paths first; the rest (a script's own GET/SET included) after.
const order = (command: string) => (FIRST_COMMANDS.includes(command) ? FIRST_COMMANDS.indexOf(command) : FIRST_COMMANDS.length);

const perSec = (r: RunResult, command: string) => (r.redisCalls.get(command) ?? 0) / r.busySec;

/** Redis commands the servers sent, per second ("publish 12,345/s, eval 600/s"). */
function redisCalls(r: RunResult): string {
  const commands = [...r.redisCalls.keys()].filter((command) => !OUR_COMMANDS.test(command) && perSec(r, command) >= 1);
  commands.sort((a, b) => order(a) - order(b) || perSec(r, b) - perSec(r, a));
  return commands.length === 0 ? 'none' : commands.map((command) => `${command} ${count(perSec(r, command))}/s`).join(', ');
}

const nodeCpu = (r: RunResult) => r.nodeLabels.map((label, i) => `${label} ${pct(r.nodeCpu[i] ?? NaN)}`).join(' · ');
/** Server-side processes (nodes and Redis) with their CPU, % of one core. */
const serverProcesses = (r: RunResult) => [...r.nodeLabels.map((label, i): [string, number] => [`node ${label}`, r.nodeCpu[i] ?? NaN]), ['Redis', r.redisCpu] as [string, number]];
const busiest = (r: RunResult) => serverProcesses(r).reduce((a, b) => (b[1] > a[1] ? b : a));
/** The processes of the run (nodes, Redis, load generators) as a share of all cores. */
const ourShare = (r: RunResult, cores: number) => (sum(r.nodeCpu) + r.redisCpu + r.loadCpu) / cores;
/** CPU of every server-side process (the nodes and Redis) per message delivered: what clustering costs. */
const serverUsPerDelivery = (r: RunResult) => (((sum(r.nodeCpu) + r.redisCpu) / 100) * r.busySec * 1e6) / r.delivered;

const checks = (r: RunResult) => (r.problems.length === 0 ? 'ok' : 'INVALID');

export function runLine(r: RunResult): string {
  return (
    `  [${r.layout}] ${r.scenario}: ${count(r.sent)} ${unitOf(r)}s (${count(r.sentPerSec)}/s) → ${count(r.delivered)} deliveries (${count(r.deliveredPerSec)}/s) over ${r.busySec.toFixed(1)} s; ` +
    `CPU nodes ${nodeCpu(r)}, Redis ${pct(r.redisCpu)}, load generators ${pct(r.loadCpu)}; Redis ${redisCalls(r)}; ` +
    (r.problems.length === 0 ? 'every subscriber got every message once, in order' : `INVALID RUN: ${r.problems.join('; ')}`)
  );
}

/** A scenario's median runs on each layout, and cluster / single deliveries/s of each repeat, run against run. */
export type Pair = { scenario: string; single: RunResult; cluster: RunResult; ratios: number[] };

/** The run with the median deliveries/s (of an even number, the lower middle one). */
const medianRun = (runs: RunResult[]) => [...runs].sort((a, b) => a.deliveredPerSec - b.deliveredPerSec)[Math.floor((runs.length - 1) / 2)] as RunResult;

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
    2,
    3,
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
      (unit === 'write' ? `; plus the shared cache's ${count(perSec(r, 'eval') + perSec(r, 'evalsha'))} EVAL/EVALSHA/s (${(((r.redisCalls.get('eval') ?? 0) + (r.redisCalls.get('evalsha') ?? 0)) / r.sent).toFixed(2)} per write: the compare-and-set script, also on 1 node).` : '.'),
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
