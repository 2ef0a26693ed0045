/**
 * The PostgreSQL and Redis processes of bench/connectors.ts: real-servers.ts starts them, so they
 * are found among this script's descendants in /proc, for their CPU time and, on the way out, to
 * make sure none is left behind.
 */
import { processTable, type ProcStat } from './cpu.ts';

/** The database servers real-servers.ts starts: PostgreSQL's postmaster and backends, redis-server. */
const SERVICE_COMMANDS = new Set(['postgres', 'redis-server']);

/** Descendants of this process (every generation) that are database servers. */
function services(table: Map<number, ProcStat>): number[] {
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
