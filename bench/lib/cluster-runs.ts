/**
 * One measured run of bench/cluster.ts on a layout (one node, or three): event fan-out with the
 * sequence-checking workers of bench/compare.ts, or record updates with the version-checking
 * workers of bench/records.ts. The publisher (writer) connects to the layout's first node; the
 * subscriber workers are spread round robin over its nodes, so the load generators are the same
 * processes whatever the node count. CPU time of every node, Redis and the load generators is
 * taken from the first send to the last delivery, and Redis's command counts over the same span.
 */
import type { ChildProcess } from 'node:child_process';
import { binaryCodec, EVENT_ACTION, TOPIC } from '@deepstream-ts/core';
import { mergeCompareSubscriberCounts } from './compare-ipc.ts';
import type { CompareSubscriberCounts, ComparePublisherResult, FromComparePublisher, FromCompareSubscriber, ToComparePublisher, ToCompareSubscriber } from './compare-ipc.ts';
import { mergeRecordSubscriberCounts } from './record-ipc.ts';
import type { FromRecordSubscriber, FromRecordWriter, RecordSubscriberCounts, RecordWriterCounts, RecordWriterResult, ToRecordSubscriber, ToRecordWriter } from './record-ipc.ts';
import { EVENT_EMIT_KIND, frameKind, login, subscribe } from './raw-client.ts';
import { callsBetween, type BenchRedis } from './cluster-redis.ts';
import { cpuSeconds, machineTicks } from './cpu.ts';
import { relayProgress, settle } from './flow-control.ts';
import { askCounts, forkWorker, nextMessage, sleep, stopWorkers, type ServerProcess, type Worker } from './processes.ts';

const SETUP_TIMEOUT_MS = 60_000;
/** Frames arriving this late after the last expected one would be duplicates: wait, then count again. */
const LATE_FRAMES_MS = 100;

/** A server node of a layout: A, B, C on three nodes; "single" on one. */
export interface ServerNode extends ServerProcess {
  label: string;
}

export interface Layout {
  name: string;
  /** nodes[0] hosts the publisher or writer. */
  nodes: ServerNode[];
  /** Connections subscribed to the layout's cluster channel in Redis: its node count, read from Redis. */
  channelSubscribers: number;
}

export interface RunSettings {
  durationMs: number;
  payloadBytes: number;
  /** Flow control of the publisher / writer, as in bench/events.ts. */
  maxLagMs: number;
  /** Subscriber worker processes, spread round robin over the layout's nodes. */
  subscriberWorkers: number;
  /** `first`: every subscriber worker on the publisher's node instead (the other nodes have none). */
  placement?: 'spread' | 'first';
}

export interface RunResult {
  scenario: string;
  layout: string;
  nodeLabels: string[];
  redisChannelSubscribers: number;
  /** Emits or writes, and per second of the send window. */
  sent: number;
  sentPerSec: number;
  delivered: number;
  /** Deliveries summed over all subscribers, from the first send to the last delivery. */
  deliveredPerSec: number;
  busySec: number;
  /** % of one core over the busy span, per node of the layout. */
  nodeCpu: number[];
  redisCpu: number;
  /** Publisher or writer, subscriber workers and the script itself, summed. */
  loadCpu: number;
  /** % of all cores busy over the busy span: these processes, and any other work on the machine. */
  machineBusy: number;
  /** Redis commands over the busy span, by command (lower case; a script's own calls included). */
  redisCalls: Map<string, number>;
  /** Empty when every subscriber got every message exactly once, in order. */
  problems: string[];
}

const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);
const shares = (total: number, parts: number) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
const nodeFor = (layout: Layout, worker: number) => layout.nodes[worker % layout.nodes.length] as ServerNode;

// ---------------------------------------------------------------------------------------------
// Measuring the busy span

interface CpuSample {
  at: number;
  seconds: number[];
  machine: { busy: number; total: number };
}

/** CPU seconds of a fixed list of processes, and of the whole machine, read together. */
class CpuMeter {
  constructor(private readonly pids: Array<number | undefined>) {}

  sample(): CpuSample {
    return { at: performance.now(), seconds: this.pids.map(cpuSeconds), machine: machineTicks() };
  }

  /** % of one core per process between two samples. */
  static percent(from: CpuSample, to: CpuSample): number[] {
    const span = (to.at - from.at) / 1000;
    return to.seconds.map((s, i) => ((s - (from.seconds[i] ?? NaN)) / span) * 100);
  }

  /** % of all cores busy between two samples, whoever used them (other work on the machine included). */
  static machineBusy(from: CpuSample, to: CpuSample): number {
    return ((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * 100;
  }
}

interface Measured<Counts, Result> {
  result: Result;
  counts: Counts;
  busySec: number;
  cpu: number[];
  machineBusy: number;
  redisCalls: Map<string, number>;
}

interface MeasureSpec<Counts, Result> {
  meter: CpuMeter;
  redis: BenchRedis;
  /** Starts sending; resolves with the sender's result once its window is over. */
  send: () => Promise<Result>;
  expected: (result: Result) => number;
  report: () => Promise<Counts>;
}

/**
 * Sends, then polls the subscribers until every expected delivery is in (or counts stop moving).
 * The busy span ends at the last poll that saw progress; CPU and Redis calls are taken over it.
 */
async function measure<Counts extends { received: number }, Result>(spec: MeasureSpec<Counts, Result>): Promise<Measured<Counts, Result>> {
  const callsBefore = await spec.redis.commandCalls();
  const start = spec.meter.sample();
  const result = await spec.send();
  const expected = spec.expected(result);
  const { busyEnd: end } = await settle({
    report: spec.report,
    sample: () => spec.meter.sample(),
    complete: (c) => c.received >= expected,
    moved: (a, b) => a.received !== b.received,
    pollMs: 20,
  });
  const callsAfter = await spec.redis.commandCalls();
  await sleep(LATE_FRAMES_MS);
  const counts = await spec.report();
  return { result, counts, busySec: (end.at - start.at) / 1000, cpu: CpuMeter.percent(start, end), machineBusy: CpuMeter.machineBusy(start, end), redisCalls: callsBetween(callsBefore, callsAfter) };
}

/** Node CPU, Redis CPU and load generator CPU out of one meter over [nodes…, redis, load…]. */
function splitCpu(cpu: number[], nodeCount: number) {
  return { nodeCpu: cpu.slice(0, nodeCount), redisCpu: cpu[nodeCount] ?? NaN, loadCpu: sumOf(cpu.slice(nodeCount + 1)) };
}

/** One run's figures, for either scenario: `sent` emits or writes over the sender's window. */
function runResult(
  scenario: string,
  layout: Layout,
  measured: Measured<{ received: number; lastAt: number }, { startAt: number; sendEndAt: number }>,
  sent: number,
  problems: string[],
): RunResult {
  const { result, counts } = measured;
  return {
    scenario,
    layout: layout.name,
    nodeLabels: layout.nodes.map((n) => n.label),
    redisChannelSubscribers: layout.channelSubscribers,
    sent,
    sentPerSec: sent / ((result.sendEndAt - result.startAt) / 1000),
    delivered: counts.received,
    deliveredPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
    busySec: measured.busySec,
    ...splitCpu(measured.cpu, layout.nodes.length),
    machineBusy: measured.machineBusy,
    redisCalls: measured.redisCalls,
    problems,
  };
}

function meterFor(layout: Layout, redis: BenchRedis, load: ChildProcess[]): CpuMeter {
  return new CpuMeter([...layout.nodes.map((n) => n.pid), redis.pid, process.pid, ...load.map((w) => w.pid)]);
}

// ---------------------------------------------------------------------------------------------
// Events: one publisher, S subscribers

type EventCounts = CompareSubscriberCounts;

/** Everything that makes an event run invalid: each subscriber must get each emit once, in order. */
function eventProblems(counts: EventCounts, emitted: number, subscribers: number): string[] {
  const problems: string[] = [];
  const expected = emitted * subscribers;
  if (counts.connections !== subscribers) problems.push(`${counts.connections} of ${subscribers} subscribers connected`);
  if (counts.received < expected) problems.push(`${expected - counts.received} of ${expected} deliveries missing`);
  if (counts.received > expected) problems.push(`${counts.received - expected} deliveries too many`);
  if (counts.minPerConnection !== emitted || counts.maxPerConnection !== emitted) problems.push(`per subscriber ${counts.minPerConnection}..${counts.maxPerConnection} of ${emitted} emits`);
  if (counts.gaps > 0) problems.push(`${counts.gaps} sequence gaps (${counts.missing} emits skipped)`);
  if (counts.reordered > 0) problems.push(`${counts.reordered} emits repeated or out of order`);
  if (counts.badFrames > 0) problems.push(`${counts.badFrames} frames without a readable sequence number`);
  if (!counts.verified) problems.push('a first frame failed the full check');
  if (counts.other > 0) problems.push(`${counts.other} unexpected frames`);
  if (counts.closed > 0) problems.push(`${counts.closed} subscriber connections closed by the server`);
  return [...problems, ...counts.problems.slice(0, 3)];
}

export async function eventRun(layout: Layout, redis: BenchRedis, subscribers: number, settings: RunSettings): Promise<RunResult> {
  const workers: Array<Worker<ToCompareSubscriber>> = [];
  let publisher: Worker<ToComparePublisher> | undefined;
  try {
    let first = 0;
    shares(subscribers, Math.min(settings.subscriberWorkers, subscribers)).forEach((share, i) => {
      const node = settings.placement === 'first' ? nodeFor(layout, 0) : nodeFor(layout, i);
      workers.push(forkWorker<ToCompareSubscriber>('compare-subscriber.ts', [node.url, 'fanout', String(share), String(first), String(settings.payloadBytes)]));
      first += share;
    });
    const pub = (publisher = forkWorker<ToComparePublisher>('compare-publisher.ts', [nodeFor(layout, 0).url, 'fanout', String(subscribers), String(settings.payloadBytes)]));
    relayProgress(workers, (delivered) => pub.post({ type: 'progress', delivered }), (m: FromCompareSubscriber) => (m.type === 'progress' ? m.min : undefined));
    await Promise.all([...workers.map((w) => nextMessage<FromCompareSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)), nextMessage<FromComparePublisher, 'ready'>(pub, 'ready', SETUP_TIMEOUT_MS)]);
    await sleep(300); // connection setup work finishes everywhere

    const measured = await measure<EventCounts, ComparePublisherResult>({
      meter: meterFor(layout, redis, [pub, ...workers]),
      redis,
      send: async () => {
        const done = nextMessage<FromComparePublisher, 'done'>(pub, 'done', settings.durationMs + 60_000);
        pub.post({ type: 'go', durationMs: settings.durationMs, maxLagMs: settings.maxLagMs, rate: 0 });
        return (await done).result;
      },
      expected: (result) => result.emitted * subscribers,
      report: async () => mergeCompareSubscriberCounts(await Promise.all(workers.map((w) => askCounts<CompareSubscriberCounts>(w)))),
    });
    const { result, counts } = measured;
    return runResult(`events S=${subscribers}`, layout, measured, result.emitted, eventProblems(counts, result.emitted, subscribers));
  } finally {
    await stopWorkers([...workers, publisher]);
  }
}

// ---------------------------------------------------------------------------------------------
// Records: one writer PATCHing one record, K subscribers

type RecordCounts = RecordSubscriberCounts;

/** Everything that makes a record run invalid: each subscriber must get each version once, in order. */
function recordProblems(counts: RecordCounts, writer: RecordWriterCounts, result: RecordWriterResult, subscribers: number): string[] {
  const problems: string[] = [];
  const expected = result.written * subscribers;
  const finalVersion = result.startVersion + result.written;
  if (counts.received < expected) problems.push(`${expected - counts.received} of ${expected} deliveries missing`);
  if (counts.received > expected) problems.push(`${counts.received - expected} deliveries too many`);
  if (counts.gaps > 0) problems.push(`${counts.gaps} version gaps (${counts.missing} versions skipped, ${counts.backwards} steps back)`);
  if (counts.lastVersionMin !== finalVersion || counts.lastVersionMax !== finalVersion) problems.push(`subscribers end at v${counts.lastVersionMin}..v${counts.lastVersionMax}, the writer wrote up to v${finalVersion}`);
  if (!counts.verified) problems.push('a first broadcast failed the full check');
  for (const [kind, n] of Object.entries(counts.other)) problems.push(`${n} × ${kind} at subscribers`);
  if (counts.closed > 0) problems.push(`${counts.closed} subscriber connections closed by the server`);
  for (const [kind, n] of Object.entries(writer.errors)) problems.push(`${n} × ${kind} at the writer`);
  if (writer.closed) problems.push('the writer connection was closed');
  return [...problems, ...[...counts.gapSamples, ...counts.otherSamples].slice(0, 3), ...writer.errorSamples.slice(0, 3)];
}

export async function recordRun(layout: Layout, redis: BenchRedis, subscribers: number, recordName: string, settings: RunSettings): Promise<RunResult> {
  const workers: Array<Worker<ToRecordSubscriber>> = [];
  let writer: Worker<ToRecordWriter> | undefined;
  try {
    // The writer first: it creates the record on its node, so that no two nodes race to create it.
    const wr = (writer = forkWorker<ToRecordWriter>('record-writer-worker.ts', [nodeFor(layout, 0).url, String(settings.payloadBytes), recordName]));
    const { version } = await nextMessage<FromRecordWriter, 'ready'>(wr, 'ready', SETUP_TIMEOUT_MS);
    shares(subscribers, Math.min(settings.subscriberWorkers, subscribers)).forEach((share, i) => {
      workers.push(forkWorker<ToRecordSubscriber>('record-subscriber-worker.ts', [nodeFor(layout, i).url, String(share), String(settings.payloadBytes), recordName]));
    });
    relayProgress(workers, (delivered) => wr.post({ type: 'progress', delivered }), (m: FromRecordSubscriber) => (m.type === 'progress' ? m.delivered : undefined));
    const ready = await Promise.all(workers.map((w) => nextMessage<FromRecordSubscriber, 'ready'>(w, 'ready', SETUP_TIMEOUT_MS)));
    const readVersions = ready.flatMap((r) => [r.startVersionMin, r.startVersionMax]);
    if (readVersions.some((v) => v !== version)) throw new Error(`subscribers read "${recordName}" at v${Math.min(...readVersions)}..v${Math.max(...readVersions)}, the writer at v${version}`);
    await sleep(300);

    const measured = await measure<RecordCounts, RecordWriterResult>({
      meter: meterFor(layout, redis, [wr, ...workers]),
      redis,
      send: async () => {
        const done = nextMessage<FromRecordWriter, 'done'>(wr, 'done', settings.durationMs + 60_000);
        wr.post({ type: 'go', durationMs: settings.durationMs, maxLagMs: settings.maxLagMs, ack: false });
        return (await done).result;
      },
      expected: (result) => result.written * subscribers,
      report: async () => mergeRecordSubscriberCounts(await Promise.all(workers.map((w) => askCounts<RecordSubscriberCounts>(w)))),
    });
    const { result, counts } = measured;
    const writerCounts = await askCounts<RecordWriterCounts>(wr);
    return runResult(`records K=${subscribers}`, layout, measured, result.written, recordProblems(counts, writerCounts, result, subscribers));
  } finally {
    await stopWorkers([...workers, writer]);
  }
}

// ---------------------------------------------------------------------------------------------
// Readiness

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
