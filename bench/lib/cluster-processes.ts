/**
 * The processes of bench/cluster.ts: server nodes (spawned), load workers (forked from bench/lib),
 * and whatever else needs stopping (Redis). Everything is registered here so that every way out —
 * the end, an error, SIGINT, the watchdog — stops all of it. Also their CPU time, from /proc.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const STARTUP_TIMEOUT_MS = 30_000;

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
export const log = (line: string) => process.stderr.write(`${line}\n`);

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];
/** Set once stopping begins: nodes then log each other leaving, which is expected. */
let stopping = false;

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs `cleanup` in stopEverything, after the children are gone (e.g. stopping Redis). */
export function onStop(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Long enough for a node to leave the cluster and write its CPU profile (--cpu-prof). */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs)]);
  if (isRunning(child)) child.kill('SIGKILL');
}

/** Stops every child started here, then runs the registered cleanups; safe to call twice. */
export async function stopEverything(): Promise<void> {
  stopping = true;
  await Promise.all([...children].map((child) => stopProcess(child)));
  for (const cleanup of cleanups.splice(0)) await cleanup().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
}

/** utime + stime of all threads of `pid`, in seconds (/proc/<pid>/stat, USER_HZ 100); NaN if unavailable. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 (utime) and 15 (stime)
  } catch {
    return NaN;
  }
}

/**
 * Busy and total CPU ticks of the whole machine, every core and process included (first line of
 * /proc/stat: user nice system idle iowait irq softirq steal …); NaN if unavailable.
 */
export function machineTicks(): { busy: number; total: number } {
  try {
    const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface ServerNode {
  /** A, B, C for the cluster; "single" for the baseline. */
  label: string;
  pid: number;
  url: string;
  process: ChildProcess;
  /** Log lines of warn level and above, but the expected ones. */
  warnings: string[];
}

/** Expected at warn level: the config has no storage plugin on purpose (the cache is shared). */
const EXPECTED_WARNING = 'no storage connector configured';
const ECHOED_WARNINGS = 10;

/** Echoes a child's unexpected output lines, prefixed, into `warnings`. */
function collectWarnings(node: ServerNode): void {
  for (const stream of [node.process.stdout, node.process.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (stopping || line.trim() === '' || line.includes(EXPECTED_WARNING)) continue;
        if (node.warnings.length < ECHOED_WARNINGS) log(`[node ${node.label}] ${line.slice(0, 300)}`);
        node.warnings.push(line);
      }
    });
  }
}

/**
 * Starts `node [nodeArgs] core/bin/deepstream.js start --config <config> --port <port>` and waits
 * for the port.
 */
export async function startNode(label: string, config: string, port: number, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerNode> {
  const argv = [...nodeArgs, 'core/bin/deepstream.js', 'start', '--config', config, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'];
  const child = track(spawn(process.execPath, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const node: ServerNode = { label, pid: child.pid ?? 0, url: `ws://127.0.0.1:${port}/deepstream`, process: child, warnings: [] };
  collectWarnings(node);
  const giveUp = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await portAccepts(port))) {
    if (!isRunning(child)) throw new Error(`node ${label} exited during startup (code ${child.exitCode})`);
    if (Date.now() > giveUp) throw new Error(`node ${label} did not listen on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
    await sleep(100);
  }
  return node;
}

export type Worker<In> = ChildProcess & { post(message: In): void };

/** Forks bench/lib/<file> under tsx, with IPC; its output goes to ours. */
export function forkWorker<In>(file: string, argv: string[]): Worker<In> {
  const child = track(fork(join(here, file), argv, { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return Object.assign(child, { post: (message: In) => void (child.connected && child.send(message as object)) });
}

/** The next IPC message of `type` from `child`; rejects on an 'error' message, on exit or after `timeoutMs`. */
export function next<Out extends { type: string }, T extends Out['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
  return new Promise((done, fail) => {
    const onMessage = (message: Out) => {
      if (message.type === type) {
        cleanup();
        done(message as Extract<Out, { type: T }>);
      } else if (message.type === 'error') {
        cleanup();
        fail(new Error(`worker ${child.pid}: ${(message as unknown as { message: string }).message}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      fail(new Error(`worker ${child.pid} exited (code ${code}) while waiting for "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      fail(new Error(`worker ${child.pid}: no "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Asks each worker to stop, waits up to 5 s, then kills what is left. */
export async function stopWorkers(workers: Array<Worker<{ type: 'stop' }> | undefined>): Promise<void> {
  const live = workers.filter((w): w is Worker<{ type: 'stop' }> => w !== undefined && isRunning(w));
  for (const w of live) w.post({ type: 'stop' });
  await Promise.race([Promise.all(live.map((w) => (isRunning(w) ? new Promise((done) => w.once('exit', done)) : undefined))), sleep(5_000)]);
  for (const w of live) if (isRunning(w)) w.kill('SIGKILL');
}
