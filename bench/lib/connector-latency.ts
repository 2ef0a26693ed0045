/**
 * A bounded, mergeable latency histogram for bench/connectors.ts: log-scale buckets, 100 per
 * factor of ten from 1 µs to 1000 s (each bucket about 2.3% wide), plus exact count, min, max
 * and sum. Workers fill one each and send a sparse snapshot; the parent merges them.
 */

const MIN_MS = 0.001;
const BUCKETS_PER_DECADE = 100;
const BUCKET_COUNT = 9 * BUCKETS_PER_DECADE;

/** What crosses the IPC channel: non-empty buckets as [index, count] pairs. */
export interface LatencySnapshot {
  count: number;
  minMs: number;
  maxMs: number;
  sumMs: number;
  buckets: Array<[number, number]>;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private count = 0;
  private min = Infinity;
  private max = 0;
  private sum = 0;

  add(ms: number): void {
    const i = ms > MIN_MS ? Math.min(BUCKET_COUNT - 1, Math.floor(Math.log10(ms / MIN_MS) * BUCKETS_PER_DECADE)) : 0;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.sum += ms;
  }

  snapshot(): LatencySnapshot {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((n, i) => {
      if (n > 0) buckets.push([i, n]);
    });
    return { count: this.count, minMs: this.count > 0 ? this.min : NaN, maxMs: this.count > 0 ? this.max : NaN, sumMs: this.sum, buckets };
  }
}

export function mergeLatency(parts: readonly LatencySnapshot[]): LatencySnapshot {
  const counts = new Map<number, number>();
  let count = 0;
  let minMs = Infinity;
  let maxMs = -Infinity;
  let sumMs = 0;
  for (const part of parts) {
    if (part.count === 0) continue;
    count += part.count;
    minMs = Math.min(minMs, part.minMs);
    maxMs = Math.max(maxMs, part.maxMs);
    sumMs += part.sumMs;
    for (const [i, n] of part.buckets) counts.set(i, (counts.get(i) ?? 0) + n);
  }
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  return { count, minMs: count > 0 ? minMs : NaN, maxMs: count > 0 ? maxMs : NaN, sumMs, buckets };
}

/** The p-th percentile (0..100) in ms: the geometric middle of its bucket, kept within [min, max]. */
export function percentile(s: LatencySnapshot, p: number): number {
  if (s.count === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.count));
  let seen = 0;
  for (const [i, n] of s.buckets) {
    seen += n;
    if (seen >= rank) return Math.min(s.maxMs, Math.max(s.minMs, MIN_MS * 10 ** ((i + 0.5) / BUCKETS_PER_DECADE)));
  }
  return s.maxMs;
}

export const mean = (s: LatencySnapshot): number => (s.count > 0 ? s.sumMs / s.count : NaN);
