/**
 * CPU time from /proc (Linux): per process (utime + stime of all its threads), for the whole
 * machine, and the process table (parent, command, CPU) to find the processes a script started
 * indirectly. Where /proc is missing or a process is gone, figures read NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ: 100 on every mainstream Linux build

export interface ProcStat {
  ppid: number;
  /** The executable's name as the kernel shows it (`postgres`, `redis-server`, `node`, …). */
  comm: string;
  /** utime + stime, seconds. */
  cpu: number;
}

/** Fields of /proc/<pid>/stat; undefined where unavailable. */
function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) stands in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    return {
      ppid: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, // fields 14 (utime) and 15 (stime)
    };
  } catch {
    return undefined;
  }
}

/** utime + stime of all threads of `pid`, in seconds; NaN if unavailable. */
export function cpuSeconds(pid: number | undefined): number {
  return pid === undefined ? NaN : (readStat(pid)?.cpu ?? NaN);
}

/** Every process in /proc, by pid; empty where /proc is missing. */
export function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry)); // undefined: gone meanwhile
    if (stat !== undefined) table.set(Number(entry), stat);
  }
  return table;
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
