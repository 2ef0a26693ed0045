/**
 * A deepstream-ts server with every feature plugin in a child process (`server-child.ts`), for
 * tests that attack it: a crash is an exit with its stderr kept for the report, faults the child
 * caught (unhandled rejections, throws inside hooks) are collected, and the heap and registry
 * sizes are asked over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PresenceStats } from '@deepstream-ts/plugin-presence';
import type { RpcStats } from '@deepstream-ts/plugin-rpc';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));
/** The last this many characters of the child's stderr are kept. */
const STDERR_TAIL = 20_000;

export interface ListenerStats {
  patterns: number;
  providers: number;
  searches: number;
  sessions: number;
}

export interface ServerStats {
  sessions: number;
  eventSubscriptions: number;
  recordSubscriptions: number;
  eventListeners: ListenerStats | undefined;
  recordListeners: ListenerStats | undefined;
  rpc: RpcStats | undefined;
  presence: PresenceStats | undefined;
  /** Own properties of Object.prototype and Array.prototype that were not there at start. */
  prototypeAdditions: string[];
}

export interface HookError {
  hook: string;
  plugin: string;
  error: string;
}

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Set once the process has exited: its exit code or the signal that ended it. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The child's stderr (its error-level log lines and crash traces), last STDERR_TAIL characters. */
  stderr(): string;
  /** Unhandled rejections and uncaught exceptions the child reported before exiting. */
  faults: Array<{ kind: string; error: string }>;
  /** Plugins that threw inside a hook or topic handler (the kernel logged it and carried on). */
  hookErrors: HookError[];
  alive(): boolean;
  stats(): Promise<ServerStats>;
  /** heapUsed in bytes after two forced collections. */
  heap(): Promise<number>;
  stop(): Promise<void>;
  /** SIGKILL, for a server that is stalled or in an unknown state. */
  kill(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Valve options merged over the fuzz rules (e.g. a smaller `maxCachedSelections`). */
  valve?: Record<string, unknown>;
  /** ms to wait for the child to listen. */
  startTimeout?: number;
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const child = fork(CHILD, [JSON.stringify({ valve: options.valve })], {
    // tsx resolved from here, so that the child starts whatever the current directory is.
    execArgv: ['--conditions=source', '--import', import.meta.resolve('tsx'), '--expose-gc'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 0;
  const server: ServerProcess = {
    url: '',
    port: 0,
    child,
    exit: undefined,
    stderr: () => stderr,
    faults: [],
    hookErrors: [],
    alive: () => server.exit === undefined,
    stats: () => ask('stats') as Promise<ServerStats>,
    heap: () => ask('heap') as Promise<number>,
    async stop() {
      if (!server.alive()) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!server.alive()) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
  function ask(command: string): Promise<unknown> {
    if (!server.alive()) return Promise.reject(new Error(`the server process has exited: ${describeExit(server)}`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the server process did not answer "${command}" within 5 s`));
      }, 5000);
      pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      child.send({ id, command });
    });
  }
  child.on('exit', (code, signal) => {
    server.exit = { code, signal };
  });
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server process did not start within ${options.startTimeout ?? 20_000} ms: ${stderr}`)), options.startTimeout ?? 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the server process exited at start: ${describeExit(server)}`));
    });
    child.on('message', (message: { type?: string; id?: number; result?: unknown; port?: number } & Record<string, unknown>) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port!);
      } else if (message.type === 'fault') server.faults.push({ kind: String(message.kind), error: String(message.error) });
      else if (message.type === 'hook-error') server.hookErrors.push(message as unknown as HookError);
      else if (message.id !== undefined) pending.get(message.id)?.(message.result);
    });
  });
  const port = await ready;
  server.port = port;
  server.url = `ws://127.0.0.1:${port}/deepstream`;
  return server;
}

/** "exit code 1 (SIGABRT)" plus the reported faults and the stderr tail, for failure messages. */
export function describeExit(server: ServerProcess): string {
  const exit = server.exit === undefined ? 'still running' : `exit code ${server.exit.code}${server.exit.signal ? ` (${server.exit.signal})` : ''}`;
  const faults = server.faults.map((f) => `${f.kind}: ${f.error}`).join('\n');
  return `${exit}\n${faults}\nstderr:\n${server.stderr().slice(-4000)}`;
}
