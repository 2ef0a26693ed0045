/**
 * Child processes for bench/rpc.ts: the server under test and the load workers, all tracked so
 * that one call kills whatever is still running; plus per-process CPU time from /proc.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
const children = new Set<ChildProcess>();

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM to every child still running, SIGKILL after 3 s. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            done();
          }, 3_000).unref();
        }),
    ),
  );
}

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

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface ServerProcess {
  pid: number;
  url: string;
  /** Warn-or-worse lines the server printed (the first few are echoed with a [server] prefix). */
  warnings: string[];
}

/** `deepstream start --config <config>` on a free port, log level warn; resolves once it accepts connections. */
export async function startServer(config: string, timeoutMs = 30_000): Promise<ServerProcess> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', config, '--port', String(port), '--log-level', 'warn'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const server: ServerProcess = { pid: child.pid ?? 0, url: `ws://127.0.0.1:${port}/deepstream`, warnings: [] };
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        if (server.warnings.length < 10) process.stderr.write(`[server] ${line}\n`);
        server.warnings.push(line);
      }
    });
  }
  const giveUp = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`the server exited during startup (code ${child.exitCode})`);
    if (Date.now() > giveUp) throw new Error(`the server did not listen on port ${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
  return server;
}

export type Worker<In> = ChildProcess & { post(message: In): void };

/** Forks bench/lib/<file> under tsx, with an IPC channel. */
export function forkWorker<In>(file: string, argv: string[]): Worker<In> {
  const child = track(fork(join(here, file), argv, { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return Object.assign(child, { post: (message: In) => void (child.connected && child.send(message as object)) });
}

/** The next IPC message of `type`; rejects on an `error` message, on exit, or after `timeoutMs`. */
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

/** Asks a worker to stop and waits for it (SIGKILL after 5 s). */
export async function stopWorker<In extends { type: string }>(worker: Worker<In>, stop: In): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((r) => worker.once('exit', r));
  worker.post(stop);
  await Promise.race([exited, sleep(5_000)]);
  if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
}

/** utime + stime in seconds (all threads) from /proc/<pid>/stat; NaN where unavailable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100) ticks
  } catch {
    return NaN;
  }
}
