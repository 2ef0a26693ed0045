/**
 * The measured runs the scripts share. fanoutRun: one sender (event publisher, or a record's writer)
 * and S subscribers over worker processes; their progress feeds the sender's flow control; after the
 * window the subscribers are polled until everything is in or counts stop (settle); CPU of the given
 * processes, the load generators and the machine from the first send to the last delivery.
 * rpcRun: N requesters (one call in flight each) against a provider; CPU over the measured window.
 */
import { mergeHistograms, topicName } from './checks.ts';
import { relayProgress, settle } from './flow-control.ts';
import {
  askCounts, CpuMeter, forkWorker, mergeCounts, nextMessage, rssBytes, shares, sleep, stopWorkers, writeSyscalls,
  type CpuSample, type RequesterResult, type SendResult, type SubscriberCounts, type Worker, type WriterCounts,
} from './proc.ts';

const LATE_FRAMES_MS = 100; // Frames arriving this late after the last expected one would be duplicates: wait, then count again.

/**
 * The sender's server and each subscriber worker's (by worker index); events, or with `record`
 * that record's updates (`ack`: acknowledged; `writerFirst`: the writer starts before the
 * subscribers); `topics`: each subscriber on its own name (t0000, …), emits round robin over
 * them; `rate`: emits per second (0: as fast as flow control allows); `latency` measured by the
 * subscribers; `pids`: the processes whose CPU is measured beside the load generators (servers
 * first); `onStart`/`onEnd` run around the busy span (e.g. reading Redis's command counts).
 */
export interface FanoutSpec {
  sendUrl: string;
  subUrl: (worker: number) => string;
  subscribers: number;
  subWorkers: number;
  payloadBytes: number;
  durationMs: number;
  maxLagMs: number;
  topics?: boolean;
  rate?: number;
  latency?: boolean;
  record?: string;
  ack?: boolean;
  writerFirst?: boolean;
  pids: Array<number | undefined>;
  onStart?: () => Promise<void>;
  onEnd?: () => Promise<void>;
  pollMs?: number;
}

/**
 * The sender's result; the subscribers' counts at the end and when the send window closed; the
 * record writer's counts; deliveries expected (sent × subscribers, or sent with topics); the
 * record versions the subscribers and the writer read; the busy span (first send → last delivery)
 * and the send window, in s; CPU over the busy span, % of one core, of each of spec.pids and of
 * the load generators (this script, sender, subscriber workers), and of all cores; RSS of
 * spec.pids[0] after the busy span; deliveries per second of the busy span and sends per second
 * of the window.
 */
export interface FanoutRun {
  result: SendResult;
  counts: SubscriberCounts;
  inWindow: SubscriberCounts;
  writer: WriterCounts | undefined;
  expected: number;
  readVersions: { min: number; max: number; writer: number };
  busySec: number;
  windowSec: number;
  cpu: number[];
  loadCpu: number[];
  machineBusy: number;
  rss: number;
  /** Write system calls of spec.pids[0] from the first send to the last delivery (Linux's /proc/<pid>/io). */
  serverWrites: number;
  deliveredPerSec: number;
  sentPerSec: number;
}

export async function fanoutRun(s: FanoutSpec): Promise<FanoutRun> {
  const subWorkers: Worker[] = [];
  let sender: Worker | undefined;
  const isRecord = s.record !== undefined;
  const startSender = async () => {
    sender = forkWorker(
      isRecord
        ? { role: 'record-writer', url: s.sendUrl, record: s.record as string, payloadBytes: s.payloadBytes }
        : { role: 'publisher', url: s.sendUrl, names: s.topics === true ? Array.from({ length: s.subscribers }, (_, i) => topicName(i)) : ['bench'], payloadBytes: s.payloadBytes },
    );
    return nextMessage(sender, 'ready');
  };
  try {
    // Records: subscribers first by default, all holding their READ_RESPONSE before the writer exists.
    const writerReady = s.writerFirst === true ? await startSender() : undefined;
    let first = 0;
    shares(s.subscribers, Math.min(s.subWorkers, s.subscribers)).forEach((share, i) => {
      const names = isRecord ? [s.record as string] : s.topics === true ? Array.from({ length: share }, (_, j) => topicName(first + j)) : ['bench'];
      subWorkers.push(forkWorker({ role: 'subscriber', url: s.subUrl(i), count: share, names, payloadBytes: s.payloadBytes, record: isRecord }));
      first += share;
    });
    const subReady = await Promise.all(subWorkers.map((w) => nextMessage(w, 'ready')));
    const ready = writerReady ?? (await startSender());
    const snd = sender as unknown as Worker;
    // Fan-out frames are complete when the slowest subscriber has them; a topics emit has one subscriber.
    const sum = s.topics === true;
    relayProgress(subWorkers, (delivered) => snd.post({ type: 'progress', delivered }), (m: { type: string; min?: number; sum?: number }) => (m.type !== 'progress' ? undefined : sum ? m.sum : m.min), sum ? (v) => v.reduce((a, b) => a + b, 0) : undefined);
    if (s.latency === true) for (const w of subWorkers) w.post({ type: 'latency', on: true });
    await sleep(300); // connection setup work finishes everywhere

    const report = async () => mergeCounts(await Promise.all(subWorkers.map((w) => askCounts<SubscriberCounts>(w))), mergeHistograms);
    const writerCounts = async () => (isRecord ? askCounts<WriterCounts>(snd) : undefined);
    const meter = new CpuMeter([...s.pids, process.pid, snd.pid, ...subWorkers.map((w) => w.pid)]);
    await s.onStart?.();
    const start = meter.sample();
    const writesBefore = writeSyscalls(s.pids[0]);
    const sent = nextMessage(snd, 'sent', s.durationMs + 30_000);
    const done = nextMessage(snd, 'done', s.durationMs + 60_000);
    void done.catch(() => {}); // awaited below; a failure before then surfaces through `sent`
    snd.post({ type: 'go', go: { durationMs: s.durationMs, maxLagMs: s.maxLagMs, rate: s.rate ?? 0, ack: s.ack === true } });
    await sent;
    const windowEnd = meter.sample();
    const inWindow = await report();
    const result = (await done).result as SendResult;
    const expected = s.topics === true ? result.sent : result.sent * s.subscribers;
    const ack = s.ack === true;
    const { busyEnd } = await settle<[SubscriberCounts, WriterCounts | undefined], CpuSample>({
      report: async () => [await report(), ack ? await writerCounts() : undefined],
      sample: () => meter.sample(),
      complete: ([c, w]) => c.received >= expected && (!ack || (w?.acked ?? 0) >= result.sent),
      moved: ([c0, w0], [c1, w1]) => c0.received !== c1.received || w0?.acked !== w1?.acked,
      pollMs: s.pollMs ?? 20,
    });
    const serverWrites = writeSyscalls(s.pids[0]) - writesBefore;
    const rss = rssBytes(s.pids[0] ?? 0);
    await s.onEnd?.();
    await sleep(LATE_FRAMES_MS);
    const counts = await report();
    const writer = await writerCounts();
    const cpu = CpuMeter.percent(start, busyEnd);
    const versions = subReady.flatMap((r) => [r.versionMin, r.versionMax]);
    return {
      result, counts, inWindow, writer, expected, readVersions: { min: Math.min(...versions), max: Math.max(...versions), writer: ready.versionMin },
      busySec: (busyEnd.at - start.at) / 1000, windowSec: (windowEnd.at - start.at) / 1000, cpu: cpu.slice(0, s.pids.length),
      loadCpu: cpu.slice(s.pids.length), machineBusy: CpuMeter.machineBusy(start, busyEnd), rss, serverWrites,
      deliveredPerSec: counts.received > 0 ? counts.received / ((counts.lastAt - result.startAt) / 1000) : 0,
      sentPerSec: result.sent / ((result.sendEndAt - result.startAt) / 1000),
    };
  } finally {
    await stopWorkers([...subWorkers, sender]);
  }
}

/** Everything that makes a fan-out run invalid: each subscriber must get each frame once, in order, and nothing else. */
export function fanoutProblems(r: FanoutRun, subscribers: number): string[] {
  const c = r.counts;
  const p: string[] = [];
  if (c.connections !== subscribers) p.push(`${c.connections} of ${subscribers} subscribers connected`);
  if (c.received < r.expected) p.push(`${r.expected - c.received} of ${r.expected} deliveries missing`);
  if (c.received > r.expected) p.push(`${c.received - r.expected} deliveries too many`);
  if (c.gaps > 0) p.push(`${c.gaps} sequence gaps (${c.missing} skipped)`);
  if (c.backwards > 0) p.push(`${c.backwards} repeated or out of order`);
  if (c.bad > 0) p.push(`${c.bad} frames without a readable sequence number`);
  if (!c.verified) p.push('a first frame failed the full check');
  for (const [kind, n] of Object.entries(c.other)) p.push(`${n} × ${kind} at subscribers`);
  if (c.closed > 0) p.push(`${c.closed} subscriber connections closed by the server`);
  if (r.writer !== undefined) {
    const final = r.result.startVersion + r.result.sent;
    if (r.readVersions.min !== r.readVersions.writer || r.readVersions.max !== r.readVersions.writer) p.push(`subscribers read v${r.readVersions.min}..v${r.readVersions.max}, the writer v${r.readVersions.writer}`);
    if (c.versionMin !== final || c.versionMax !== final) p.push(`subscribers end at v${c.versionMin}..v${c.versionMax}, the writer wrote up to v${final}`);
    for (const [kind, n] of Object.entries(r.writer.errors)) p.push(`${n} × ${kind} at the writer`);
    if (r.writer.acksOutOfOrder > 0) p.push(`${r.writer.acksOutOfOrder} acks out of order`);
    if (r.writer.closed) p.push('the writer connection was closed');
  }
  return [...p, ...c.samples.slice(0, 3), ...(r.writer?.errorSamples.slice(0, 3) ?? [])];
}

/** cpu: % of one core over the measured window, each of `pids`, then the provider, then the requester worker; serverUsPerCall: CPU of pids[0] per call. */
export type RpcRun = { result: RequesterResult; callsPerSec: number; cpu: number[]; serverUsPerCall: number };

export async function rpcRun(o: { url: string; provider: Worker; requesters: number; payloadBytes: number; warmupMs: number; durationMs: number; pids: number[] }): Promise<RpcRun> {
  const worker = forkWorker({ role: 'rpc-requester', url: o.url, count: o.requesters, payloadBytes: o.payloadBytes });
  try {
    await nextMessage(worker, 'ready');
    await sleep(200); // let login work settle
    const meter = new CpuMeter([...o.pids, o.provider.pid, worker.pid]);
    const measured = nextMessage(worker, 'measured', o.warmupMs + o.durationMs + 30_000);
    const done = nextMessage(worker, 'done', o.warmupMs + o.durationMs + 60_000);
    void done.catch(() => {});
    worker.post({ type: 'go', go: { warmupMs: o.warmupMs, durationMs: o.durationMs } });
    await sleep(o.warmupMs);
    const before = meter.sample();
    await measured;
    const after = meter.sample();
    const result = (await done).result as RequesterResult;
    const callsPerSec = result.completed / (result.windowMs / 1000);
    const cpu = CpuMeter.percent(before, after);
    return { result, callsPerSec, cpu, serverUsPerCall: (((cpu[0] ?? NaN) / 100) * 1e6) / callsPerSec };
  } finally {
    await stopWorkers([worker]);
  }
}

/** Problems of an RPC run: errors, unanswered calls, a bad first RESPONSE. */
export function rpcProblems(r: RequesterResult): string[] {
  const p: string[] = [];
  if (r.errors > 0) p.push(`${r.errors} RPC errors (first: ${r.firstError})`);
  if (r.unanswered > 0) p.push(`${r.unanswered} calls unanswered`);
  if (!r.verified) p.push('a first RESPONSE failed the full check');
  return p;
}
