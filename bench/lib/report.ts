import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The one report printer of the benchmark scripts: aligned tables, number formats, JSON lines.
 */

const isNaNish = (v: number) => !Number.isFinite(v);

/** Formats; each prints `-` (or `n/a`) for NaN and infinities. */
export const f = {
  /** 1,234,567 */
  count: (v: number) => (isNaNish(v) ? '-' : Math.round(v).toLocaleString('en-US')),
  /** 12.3% (digits after the point: 1 by default) */
  pct: (v: number, digits = 1) => (isNaNish(v) ? 'n/a' : `${v.toFixed(digits)}%`),
  /** 640 µs, 1.23 ms */
  us: (v: number) => (isNaNish(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`),
  /** 1.23 ms, 12.3 ms, 123 ms */
  ms: (v: number) => (isNaNish(v) ? '-' : v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${v.toFixed(0)} ms`),
  /** Three significant figures or so: 1,234 / 123 / 12.3 / 1.23 */
  num: (v: number) => (isNaNish(v) ? '-' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)),
  /** 1.23x */
  ratio: (v: number) => (isNaNish(v) ? '-' : `${v.toFixed(2)}x`),
  /** 12 ms (whole milliseconds) */
  wholeMs: (v: number) => (isNaNish(v) ? 'n/a' : `${v.toFixed(0)} ms`),
};

/**
 * An aligned table: a header, a rule, the rows. The first `left` columns and the last `leftTail`
 * are left-aligned, the others (figures) right-aligned.
 */
export function table(header: string[], rows: string[][], left = 1, leftTail = 0): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < left || i >= cells.length - leftTail ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One JSON line on stdout, numbers cut to 6 significant figures. */
export function jsonLine(value: object): void {
  process.stdout.write(`${JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v))}\n`);
}

export const sumOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** The median of the numbers among `values` (NaN ignored); NaN when there are none. */
export function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** min / p50 / p90 / p99 / max of raw samples. */
export function summary(samples: number[]): { min: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => (s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number));
  return { min: s[0] ?? NaN, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] ?? NaN };
}

/** "records.sqlite 12 KiB, records.sqlite-wal 330 KiB": the files in `dir` ('n/a' if unreadable). */
export function fileSizes(dir: string): string {
  try {
    return readdirSync(dir).map((file) => `${file} ${(statSync(join(dir, file)).size / 1024).toFixed(0)} KiB`).join(', ');
  } catch {
    return 'n/a';
  }
}
