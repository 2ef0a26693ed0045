/**
 * Processes for bench/connectors.ts beyond what rpc-process.ts offers: servers started with their
 * own environment (one per stack, side by side) and stopped one by one, and the CPU time of the
 * PostgreSQL and Redis processes among this script's descendants, from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { root, sleep } from './rpc-process.ts';

export interface StackServer {
  label: string;
  pid: number;
  url: string;
  /** Lines the server printed at log level warn or worse (the first few are echoed). */
  warnings: string[];
  /** SIGTERM (the server drains its write queues and closes its connectors), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const servers = new Set<ChildProcess>();

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

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * `deepstream start --config <config>` on a free port, log level warn, with `env` added to this
 * process's environment; resolves once it accepts connections. Output lines are kept as warnings
 * and the first few echoed with a `[server <label>]` prefix.
 */
export async function startStackServer(label: string, config: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<StackServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', config, '--port', String(port), '--log-level', 'warn'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.add(child);
  child.once('exit', () => servers.delete(child));
  const server: StackServer = {
    label,
    pid: child.pid ?? 0,
    url: `ws://127.0.0.1:${port}/deepstream`,
    warnings: [],
    stop: (graceMs = 10_000) => stopChild(child, graceMs),
  };
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        if (server.warnings.length < 10) process.stderr.write(`[server ${label}] ${line}\n`);
        server.warnings.push(line);
      }
    });
  }
  const giveUp = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server ${label} exited during startup (code ${child.exitCode}): ${server.warnings.slice(0, 3).join(' | ')}`);
    if (Date.now() > giveUp) throw new Error(`server ${label} did not listen on port ${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
  return server;
}

/** Stops every server still running (SIGTERM, SIGKILL after `graceMs`). */
export async function stopAllServers(graceMs = 10_000): Promise<void> {
  await Promise.all([...servers].map((child) => stopChild(child, graceMs)));
}

interface ProcInfo {
  ppid: number;
  /** The executable's name as the kernel shows it (`postgres`, `redis-server`, `node`, …). */
  comm: string;
  /** utime + stime, seconds. */
  cpu: number;
}

/** Every process in /proc: parent and CPU seconds (USER_HZ = 100). Empty where /proc is missing. */
function processTable(): Map<number, ProcInfo> {
  const table = new Map<number, ProcInfo>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      table.set(pid, { ppid: Number(fields[1]), comm, cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** The database servers real-servers.ts starts: PostgreSQL's postmaster and backends, redis-server. */
const SERVICE_COMMANDS = new Set(['postgres', 'redis-server']);

/** Descendants of this process (every generation) that are database servers. */
function services(table: Map<number, ProcInfo>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) {
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (SERVICE_COMMANDS.has(table.get(child)?.comm ?? '')) found.push(child);
      walk(child);
    }
  };
  walk(process.pid);
  return found;
}

/**
 * CPU seconds of the PostgreSQL and Redis processes this script started (through
 * real-servers.ts), by pid. Processes that exit between two samples lose their time; processes
 * born between them count from zero.
 */
export function serviceCpu(): Map<number, number> {
  const table = processTable();
  return new Map(services(table).map((pid) => [pid, table.get(pid)?.cpu ?? 0]));
}

/** CPU seconds spent between two serviceCpu samples. */
export function serviceCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/** Last resort on the way out: SIGKILL any database server of ours still alive (by pid). */
export function killLeftoverServices(): number[] {
  const pids = services(processTable());
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}
