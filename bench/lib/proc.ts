/**
 * The one process, CPU and IPC helper set: servers (spawned, waited for on their port) and workers
 * (worker.ts forked with a role), all tracked so that every way out stops them and then runs the
 * cleanups; CPU time and RSS from /proc (NaN where unavailable); the typed script ⇄ worker protocol.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistogramSnapshot } from './checks.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: servers and workers run from there. */
export const root = resolve(here, '..', '..');

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000; // Between SIGTERM and SIGKILL, unless a server asks for more.
const WORKER_STOP_MS = 5_000; // A worker asked to stop gets this long to exit by itself.
export const SETUP_TIMEOUT_MS = 60_000; // How long a worker may take to open its connections.
const ECHO_WIDTH = 300; // Long lines (a stack trace on one line) are cut when echoed.

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
export const log = (line: string) => void process.stderr.write(`${line}\n`);

// Tracking and stopping

/** Every child still running, with its grace between SIGTERM and SIGKILL. */
const children = new Map<ChildProcess, number>();
const cleanups: Array<() => void | Promise<void>> = [];
let stopping: Promise<void> | undefined;

function track<T extends ChildProcess>(child: T, graceMs: number): T {
  children.set(child, graceMs);
  child.once('exit', () => children.delete(child));
  return child;
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** SIGTERM, then SIGKILL if it still runs after `graceMs`; resolves on exit or after the grace. */
function stopProcess(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  return new Promise((done) => {
    if (!isRunning(child)) return done();
    const timer = setTimeout(() => (isRunning(child) && child.kill('SIGKILL'), done()), graceMs);
    child.once('exit', () => (clearTimeout(timer), done()));
    child.kill('SIGTERM');
  });
}

/** Runs `cleanup` in stopAll, once every child is gone (e.g. removing the files a server wrote). */
export const onStop = (cleanup: () => void | Promise<void>) => void cleanups.push(cleanup);

/** True once stopAll has begun: servers then log their peers and clients leaving, as expected. */
export const isStopping = () => stopping !== undefined;

/** Stops every child still running, then runs the registered cleanups in order; later calls wait for the first. */
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all([...children].map(([child, graceMs]) => stopProcess(child, graceMs)));
    for (const cleanup of cleanups) await Promise.resolve().then(cleanup).catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  })();
  return stopping;
}

const describeError = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

/**
 * Runs a benchmark's `main` and exits with its code (0 when it returns none): 1 when it throws,
 * fails asynchronously or outlasts `hardLimitMs`, 130 on SIGINT / SIGTERM. Every way out goes
 * through stopAll, so nothing the script started outlives it.
 */
export async function runBenchmark(name: string, hardLimitMs: number, main: () => Promise<number | void>): Promise<never> {
  const bail = (code: number) => void stopAll().finally(() => process.exit(code));
  setTimeout(() => (log(`${name} exceeded its ${Math.round(hardLimitMs / 1000)} s limit; stopping`), bail(1)), hardLimitMs).unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (log(`${name}: ${signal}, stopping every process it started`), bail(130)));
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) process.once(event, (error: unknown) => (log(`${name} failed: ${describeError(error)}`), bail(1)));
  let exitCode = 1;
  try {
    exitCode = (await main()) ?? 0;
  } catch (error) {
    log(`${name} failed: ${describeError(error)}`);
  } finally {
    await stopAll();
  }
  process.exit(exitCode);
}

// Servers

/** Moves every thread of `pid` onto the CPUs in `cpus` (a taskset list such as "0" or "1-3"); its later threads and children inherit them. */
export function pinToCpus(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], { stdio: 'ignore' });
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export function portAccepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

/** node's arguments for `deepstream start` on `port` at log level warn; `options` such as --config go before the port. */
export function deepstreamArgs(port: number, options: string[] = [], nodeOptions: string[] = []): string[] {
  return [...nodeOptions, 'core/bin/deepstream.js', 'start', ...options, '--port', String(port), '--log-level', 'warn'];
}

/**
 * `name` prefixes its echoed lines (`[name] …`) and names it in errors; `args` are node's, given the
 * port (a free one); `env` is added to ours (undefined removes); `ignore`d lines are neither kept
 * nor echoed; the first `echo` lines are echoed; `stopGraceMs` lies between SIGTERM and SIGKILL.
 */
export interface ServerOptions {
  name: string;
  args: (port: number) => string[];
  env?: NodeJS.ProcessEnv; cwd?: string;
  ignore?: (line: string) => boolean; echo?: number; stopGraceMs?: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  process: ChildProcess;
  /** Its output lines but the ignored ones: at log level warn, warnings and errors. */
  warnings: string[];
  stop(): Promise<void>;
}

/** Keeps `child`'s output lines in `server.warnings` (whole lines, across chunks) and echoes the first few. */
function collectWarnings(server: ServerProcess, ignore: (line: string) => boolean, echo: number): void {
  for (const stream of [server.process.stdout, server.process.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '' || ignore(line)) continue;
        if (server.warnings.length < echo) log(`[${server.name}] ${line.slice(0, ECHO_WIDTH)}`);
        server.warnings.push(line);
      }
    });
  }
}

/** Spawns `node <args>` and resolves once its port accepts connections. */
export async function startServer(o: ServerOptions): Promise<ServerProcess> {
  const port = await freePort();
  const graceMs = o.stopGraceMs ?? STOP_GRACE_MS;
  const env = o.env === undefined ? process.env : { ...process.env, ...o.env };
  const child = track(spawn(process.execPath, o.args(port), { cwd: o.cwd ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] }), graceMs);
  const server: ServerProcess = {
    name: o.name,
    pid: child.pid ?? 0,
    url: `ws://127.0.0.1:${port}/deepstream`,
    process: child,
    warnings: [],
    stop: () => stopProcess(child, graceMs),
  };
  collectWarnings(server, o.ignore ?? (() => false), o.echo ?? 10);
  const giveUp = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await portAccepts(port))) {
    if (!isRunning(child)) throw new Error(`${o.name} exited during startup (code ${child.exitCode}): ${server.warnings.slice(0, 3).join(' | ')}`);
    if (Date.now() > giveUp) throw new Error(`${o.name} did not accept connections on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
    await sleep(100);
  }
  return server;
}

// The IPC protocol: script ⇄ bench/lib/worker.ts

/** What a worker is: its role and settings (worker.ts's argv[2], as JSON). Connection i of a worker with `names` uses names[i % names.length]. */
export type WorkerConfig =
  | { role: 'publisher'; url: string; names: string[]; payloadBytes: number }
  | { role: 'subscriber'; url: string; count: number; names: string[]; payloadBytes: number; record?: boolean }
  | { role: 'record-writer'; url: string; record: string; payloadBytes: number }
  | { role: 'rpc-provider'; url: string; accept: boolean; name?: string }
  | { role: 'rpc-requester'; url: string; count: number; payloadBytes: number }
  | { role: 'connector-writer'; url: string; names: string[]; payloadBytes: number }
  | { role: 'idle'; url: string; count: number; pingMs?: number };

/**
 * Start: senders keep frames not yet complete under the recent completion rate × `maxLagMs` (0:
 * backpressure only); the publisher holds `rate` emits/s (0: as fast as allowed); the record writer
 * asks for acks with `ack`; RPC requesters and connector writers run `warmupMs` unmeasured first;
 * connector writers start at `startAt` (monoMs) with `window` writes in flight each.
 */
export interface Go {
  durationMs: number;
  maxLagMs?: number;
  rate?: number;
  ack?: boolean;
  warmupMs?: number;
  startAt?: number;
  window?: number;
}

/** Script → worker. `progress`: relayed subscriber progress, this many frames are complete (delivered everywhere they go). */
export type ToWorker = { type: 'go'; go: Go } | { type: 'progress'; delivered: number } | { type: 'report' } | { type: 'latency'; on: boolean } | { type: 'stop' };

/**
 * Worker → script. `ready`: connections open and subscribed (record roles: the versions read);
 * `progress` (when it grows): the fewest frames one live connection got, and the sum; `sent`: the
 * send window is over, `done` follows once the send buffer is empty; `measured`: RPC's measured
 * window is over, `done` follows once calls in flight finished; `answered`: the RPC provider's
 * calls over its life, on stop, or the PONGs an idle worker has had, on report.
 */
export type FromWorker =
  | { type: 'ready'; connections: number; versionMin: number; versionMax: number }
  | { type: 'progress'; min: number; sum: number }
  | { type: 'sent'; sent: number }
  | { type: 'measured' }
  | { type: 'done'; result: SendResult | RequesterResult | ConnectorResult }
  | { type: 'counts'; counts: SubscriberCounts | WriterCounts }
  | { type: 'answered'; count: number }
  | { type: 'error'; message: string };

/** A publisher's or record writer's window (times: monoMs). Waits: for 'drain' over the high-water mark, and for progress with the in-flight window full. */
export interface SendResult {
  sent: number;
  /** Record writer: the version before the first write (writes carried startVersion + 1 … + sent). */
  startVersion: number;
  startAt: number; sendEndAt: number; drainedAt: number;
  backpressureWaits: number; windowWaits: number;
  /** Most frames in flight (sent, not yet complete) seen. */
  maxInFlight: number;
}

/**
 * A subscriber worker's connections (or several workers', merged): frames with a readable sequence
 * number (EMITs, or record UPDATE/PATCH broadcasts) received, per connection at least / at most,
 * first / last at (monoMs, 0 if none), connections closed by the server, whether every first frame
 * passed the full check, the sequence check summed (see SeqChecker), the lowest / highest last
 * sequence number (record version) held, other frames by kind ("RECORD VERSION_EXISTS"; PONGs
 * aside), the first few problems, and the latency histogram.
 */
export interface SubscriberCounts {
  connections: number; received: number; minPerConnection: number; maxPerConnection: number;
  firstAt: number; lastAt: number; closed: number; verified: boolean;
  gaps: number; missing: number; backwards: number; bad: number; versionMin: number; versionMax: number;
  other: Record<string, number>; samples: string[]; latency: HistogramSnapshot;
}

/** The record writer's acknowledgements (last at: monoMs), those out of order, anything else received by kind. */
export interface WriterCounts {
  acked: number; lastAckAt: number; acksOutOfOrder: number;
  errors: Record<string, number>; errorSamples: string[]; closed: boolean;
}

/**
 * RESPONSEs inside the measured window and their round-trip latency (µs); RPC frames other than
 * ACCEPT / RESPONSE (and the first); calls unanswered after the drain; every connection's first
 * RESPONSE checked in full (name, id, payload).
 */
export interface RequesterResult {
  connections: number; completed: number; windowMs: number; latency: HistogramSnapshot;
  errors: number; firstError: string | undefined; unanswered: number; verified: boolean;
}

/**
 * Connector writers: writes and acks over the run, acks inside the window; per writer (in the
 * order of `names`) acks in the window, the highest version acked and sent; ack latency (µs) in
 * the window; acks not for the oldest write in flight; writes unacknowledged at the end; other
 * replies by kind; writers stopped by an error reply; connections closed by the server.
 */
export interface ConnectorResult {
  written: number; acked: number; ackedInWindow: number;
  perWriterInWindow: number[]; lastAcked: number[]; lastSent: number[];
  latency: HistogramSnapshot; outOfOrder: number; unacked: number;
  errors: Record<string, number>; errorSamples: string[]; stoppedByError: number; closed: number;
}

/** Several subscriber workers' counts as one: sums, extremes, samples, latency histograms. */
export function mergeCounts(all: SubscriberCounts[], merge: (h: HistogramSnapshot[]) => HistogramSnapshot): SubscriberCounts {
  const t: SubscriberCounts = { connections: 0, received: 0, minPerConnection: Infinity, maxPerConnection: 0, firstAt: Infinity, lastAt: 0, closed: 0, verified: true, gaps: 0, missing: 0, backwards: 0, bad: 0, versionMin: Infinity, versionMax: -Infinity, other: {}, samples: [], latency: merge(all.map((c) => c.latency)) };
  for (const c of all) {
    for (const key of ['connections', 'received', 'closed', 'gaps', 'missing', 'backwards', 'bad'] as const) t[key] += c[key];
    t.minPerConnection = Math.min(t.minPerConnection, c.minPerConnection);
    t.maxPerConnection = Math.max(t.maxPerConnection, c.maxPerConnection);
    if (c.firstAt > 0) t.firstAt = Math.min(t.firstAt, c.firstAt);
    t.lastAt = Math.max(t.lastAt, c.lastAt);
    t.verified &&= c.verified;
    t.versionMin = Math.min(t.versionMin, c.versionMin);
    t.versionMax = Math.max(t.versionMax, c.versionMax);
    for (const [kind, n] of Object.entries(c.other)) t.other[kind] = (t.other[kind] ?? 0) + n;
    t.samples.push(...c.samples);
  }
  if (t.firstAt === Infinity) t.firstAt = 0;
  return t;
}

// Workers

export type Worker = ChildProcess & { post(message: ToWorker): void };

/** Forks bench/lib/worker.ts under tsx with `config`, with an IPC channel; its output goes to ours. */
export function forkWorker(config: WorkerConfig): Worker {
  const child = track(fork(join(here, 'worker.ts'), [JSON.stringify(config)], { cwd: root, execArgv: ['--conditions=source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), STOP_GRACE_MS);
  return Object.assign(child, { post: (message: ToWorker) => void (child.connected && child.send(message)) });
}

/** The next message of `type` from `worker`; rejects on an `error` message, on exit or after `timeoutMs`. */
export function nextMessage<T extends FromWorker['type']>(worker: ChildProcess, type: T, timeoutMs = SETUP_TIMEOUT_MS): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((done, fail) => {
    const finish = (error?: Error, message?: FromWorker) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (error !== undefined) fail(error);
      else done(message as Extract<FromWorker, { type: T }>);
    };
    const onMessage = (message: FromWorker) => {
      if (message.type === type) finish(undefined, message);
      else if (message.type === 'error') finish(new Error(`worker ${worker.pid}: ${message.message}`));
    };
    const onExit = (code: number | null) => finish(new Error(`worker ${worker.pid} exited (code ${code}) while waiting for "${type}"`));
    const timer = setTimeout(() => finish(new Error(`worker ${worker.pid}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    worker.on('message', onMessage);
    worker.on('exit', onExit);
  });
}

/** A worker's counts: posts `report` and resolves with its `counts` reply. */
export async function askCounts<C extends SubscriberCounts | WriterCounts>(worker: Worker, timeoutMs = 10_000): Promise<C> {
  const reply = nextMessage(worker, 'counts', timeoutMs); // listening before asking
  worker.post({ type: 'report' });
  return (await reply).counts as C;
}

/** Asks each worker to stop, waits for them all (at most WORKER_STOP_MS), then kills what is left. */
export async function stopWorkers(workers: Array<Worker | undefined>): Promise<void> {
  const live = workers.filter((w): w is Worker => w !== undefined && isRunning(w));
  const exited = live.map((w) => new Promise((done) => w.once('exit', done)));
  for (const w of live) w.post({ type: 'stop' });
  await Promise.race([Promise.all(exited), sleep(WORKER_STOP_MS)]);
  for (const w of live) if (isRunning(w)) w.kill('SIGKILL');
}

/** `total` split into `parts` near-equal shares. */
export const shares = (total: number, parts: number) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

// CPU and memory from /proc

const CLOCK_TICKS = 100; // USER_HZ: 100 on every mainstream Linux build

/** Parent, the executable's name as the kernel shows it (`postgres`, `node`, …), utime + stime in s. */
export type ProcStat = { ppid: number; comm: string; cpu: number };

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) stands in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    return { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** utime + stime of all threads of `pid`, in seconds; NaN if unavailable. */
export const cpuSeconds = (pid: number | undefined): number => (pid === undefined ? NaN : (readStat(pid)?.cpu ?? NaN));

/** Every process in /proc, by pid (a process gone meanwhile is left out). */
export function processTable(): Map<number, ProcStat> {
  const pids = (() => {
    try {
      return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
    } catch {
      return []; // no /proc
    }
  })();
  return new Map(pids.flatMap((pid): Array<[number, ProcStat]> => [readStat(pid)].filter((s) => s !== undefined).map((s) => [pid, s])));
}

/** Busy and total CPU ticks of the whole machine, every core and process included (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  try {
    const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** The number `pattern` captures in /proc/<pid>/<file>; NaN if the file or the field is not there. */
function procNumber(pid: number | undefined, file: string, pattern: RegExp): number {
  try {
    const match = pattern.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return match === null ? NaN : Number(match[1]);
  } catch {
    return NaN;
  }
}

/** Write system calls (write, writev, …) `pid` has made, all threads (syscw in /proc/<pid>/io); NaN if unavailable. */
export const writeSyscalls = (pid: number | undefined): number => procNumber(pid, 'io', /syscw:\s+(\d+)/);

/** Resident set size in bytes (VmRSS); NaN if unavailable. */
export const rssBytes = (pid: number): number => procNumber(pid, 'status', /VmRSS:\s+(\d+) kB/) * 1024;

/** RSS once it stops moving after a burst (GC, lazily freed buffers): two samples 500 ms apart within 1 %, at most 5 s. */
export async function settledRss(pid: number): Promise<number> {
  let last = rssBytes(pid);
  for (let i = 0; i < 10; i++) {
    const now = (await sleep(500), rssBytes(pid));
    if (Math.abs(now - last) < 0.01 * last) return now;
    last = now;
  }
  return last;
}

/** Descendants of this process (every generation) whose command is in `commands` (e.g. postgres, redis-server). */
export function descendants(commands: ReadonlySet<string>, table = processTable()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const walk = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      if (commands.has(table.get(child)?.comm ?? '')) found.push(child);
      walk(child);
    }
  };
  walk(process.pid);
  return found;
}

/** CPU seconds by pid of those descendants; processes that exit between two samples lose their time. */
export const descendantCpu = (commands: ReadonlySet<string>, table = processTable()) => new Map(descendants(commands, table).map((pid) => [pid, table.get(pid)?.cpu ?? 0]));

/** CPU seconds spent between two descendantCpu samples. */
export const cpuDelta = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, cpu]) => sum + cpu - (before.get(pid) ?? 0), 0);

export type CpuSample = { at: number; seconds: number[]; machine: { busy: number; total: number } };

/** CPU seconds of a fixed list of processes and of the whole machine, read together. */
export class CpuMeter {
  constructor(readonly pids: Array<number | undefined>) {}
  sample = (): CpuSample => ({ at: performance.now(), seconds: this.pids.map(cpuSeconds), machine: machineTicks() });
  /** % of one core per process between two samples. */
  static percent = (from: CpuSample, to: CpuSample) => to.seconds.map((s, i) => ((s - (from.seconds[i] ?? NaN)) / ((to.at - from.at) / 1000)) * 100);
  /** % of all cores busy between two samples, whoever used them. */
  static machineBusy = (from: CpuSample, to: CpuSample) => ((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * 100;
}
