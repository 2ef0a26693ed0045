/**
 * The child processes of a benchmark script: the servers under test (spawned), the load workers
 * (bench/lib files forked under tsx, with IPC) and the way out. Every child is tracked, so that
 * each way out — the end, an error, SIGINT, the watchdog — stops all of them, then runs the
 * registered cleanups (temporary files, database servers).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: servers and workers run from there. */
export const root = resolve(here, '..', '..');

const STARTUP_TIMEOUT_MS = 30_000;
/** Between SIGTERM and SIGKILL, unless a server asks for more. */
const STOP_GRACE_MS = 3_000;
/** A worker asked to stop gets this long to exit by itself. */
const WORKER_STOP_MS = 5_000;
/** Long lines (a stack trace on one line) are cut when echoed. */
const ECHO_WIDTH = 300;

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
export const log = (line: string) => void process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
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
    const timer = setTimeout(() => {
      if (isRunning(child)) child.kill('SIGKILL');
      done();
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Runs `cleanup` in stopAll, once every child is gone (e.g. removing the files a server wrote). */
export function onStop(cleanup: () => void | Promise<void>): void {
  cleanups.push(cleanup);
}

/** True once stopAll has begun: servers then log their peers and clients leaving, as expected. */
export const isStopping = () => stopping !== undefined;

/** Stops every child still running, then runs the registered cleanups in order; later calls wait for the first. */
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all([...children].map(([child, graceMs]) => stopProcess(child, graceMs)));
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup failed: ${String(error)}`);
      }
    }
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
  setTimeout(() => {
    log(`${name} exceeded its ${Math.round(hardLimitMs / 1000)} s limit; stopping`);
    bail(1);
  }, hardLimitMs).unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${name}: ${signal}, stopping every process it started`);
      bail(130);
    });
  }
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.once(event, (error: unknown) => {
      log(`${name} failed: ${describeError(error)}`);
      bail(1);
    });
  }
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

// ---------------------------------------------------------------------------------------------
// Servers

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
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

/** node's arguments for `deepstream start` on `port` at log level warn; `options` such as --config go before the port. */
export function deepstreamArgs(port: number, options: string[] = [], nodeOptions: string[] = []): string[] {
  return [...nodeOptions, 'core/bin/deepstream.js', 'start', ...options, '--port', String(port), '--log-level', 'warn'];
}

export interface ServerOptions {
  /** Prefixes its echoed lines (`[name] …`) and names it in errors: "server", "node A", "ours". */
  name: string;
  /** node's arguments, given the port (see deepstreamArgs). */
  args: (port: number) => string[];
  /** A free one when not given. */
  port?: number;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Expected output lines: neither kept as warnings nor echoed. */
  ignore?: (line: string) => boolean;
  /** How many of its lines are echoed to stderr. */
  echo?: number;
  /** Between SIGTERM and SIGKILL: a deepstream server drains its write queues and closes its connectors first. */
  stopGraceMs?: number;
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
  const port = o.port ?? (await freePort());
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

// ---------------------------------------------------------------------------------------------
// Workers

export type Worker<In> = ChildProcess & { post(message: In): void };

/** Forks bench/lib/<file> under tsx, with an IPC channel; its output goes to ours. */
export function forkWorker<In>(file: string, argv: string[]): Worker<In> {
  const child = track(fork(join(here, file), argv, { cwd: root, execArgv: ['--conditions=source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), STOP_GRACE_MS);
  return Object.assign(child, { post: (message: In) => void (child.connected && child.send(message as object)) });
}

/** The next IPC message of `type` from `child`; rejects on an `error` message, on exit or after `timeoutMs`. */
export function nextMessage<Out extends { type: string }, T extends Out['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
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

/** A worker's counts: posts {type: 'report'} and resolves with the `counts` of its {type: 'counts'} reply. */
export async function askCounts<Counts>(worker: Worker<{ type: 'report' }>, timeoutMs = 10_000): Promise<Counts> {
  const reply = nextMessage<{ type: 'counts'; counts: Counts }, 'counts'>(worker, 'counts', timeoutMs); // listening before asking
  worker.post({ type: 'report' });
  return (await reply).counts;
}

/** Asks each worker to stop, waits for them all (at most WORKER_STOP_MS), then kills what is left. */
export async function stopWorkers(workers: Array<Worker<{ type: 'stop' }> | undefined>): Promise<void> {
  const live = workers.filter((w): w is Worker<{ type: 'stop' }> => w !== undefined && isRunning(w));
  const exited = live.map((w) => new Promise((done) => w.once('exit', done)));
  for (const w of live) w.post({ type: 'stop' });
  await Promise.race([Promise.all(exited), sleep(WORKER_STOP_MS)]);
  for (const w of live) if (isRunning(w)) w.kill('SIGKILL');
}
