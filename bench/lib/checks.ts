/**
 * What the load generators check on every frame without decoding it. Events carry a payload of
 * exactly `bytes` bytes, {"s":"<10-digit sequence>","t":"<15-digit µs send time (monoUs)>","p":"xx…"}:
 * the publisher patches the digits of one pre-encoded frame (EmitTemplate), subscribers read them at
 * the offset their first frame (decoded in full) showed. Record broadcasts carry their version.
 * SeqChecker: one connection's sequence. Histogram: the one latency histogram (log, ~1.2 % buckets).
 */
import { EVENT_ACTION, RECORD_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { describe, monoUs, recordVersion } from './raw-client.ts';

const SEQ_DIGITS = 10;
const TS_DIGITS = 15;
const SEQ_MARKER = '{"s":"';
const TS_AFTER_SEQ = SEQ_DIGITS + 7; // From the first sequence digit to the first timestamp digit: 10 digits + `","t":"`.
const ZERO = 0x30;

/** The payload with zero digits, `bytes` long (at least 48). */
export function seqPayload(bytes: number): string {
  const head = `${SEQ_MARKER}${'0'.repeat(SEQ_DIGITS)}","t":"${'0'.repeat(TS_DIGITS)}","p":"`;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

/** The name of topic `i` in the many-topics scenario: t0000, t0001, … (all the same length). */
export const topicName = (i: number) => `t${String(i).padStart(4, '0')}`;

function writeDigits(frame: Uint8Array, at: number, width: number, value: number): void {
  for (let i = at + width - 1; i >= at; i--) {
    frame[i] = ZERO + (value % 10);
    value = Math.floor(value / 10);
  }
}

/** The number in `width` ASCII digits at `at`; -1 if any byte is not a digit. */
function readDigits(frame: Uint8Array, at: number, width: number): number {
  let value = 0;
  for (let i = at; i < at + width; i++) {
    const d = (frame[i] as number) - ZERO;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** One pre-encoded EVENT EMIT frame whose sequence number and timestamp are patched in place. */
export class EmitTemplate {
  readonly frame: Buffer;
  private readonly seqAt: number;

  constructor(name: string, payloadBytes: number) {
    this.frame = Buffer.from(binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: seqPayload(payloadBytes) }));
    this.seqAt = this.frame.indexOf(SEQ_MARKER) + SEQ_MARKER.length;
  }

  /** The frame with `seq` and `tsUs` written in; send it before the next stamp (ws copies client frames while masking them). */
  stamp(seq: number, tsUs: number): Buffer {
    writeDigits(this.frame, this.seqAt, SEQ_DIGITS, seq);
    writeDigits(this.frame, this.seqAt + TS_AFTER_SEQ, TS_DIGITS, Math.floor(tsUs));
    return this.frame;
  }
}

/** The payload as an object, as an official client would emit it (its JSON text is the same bytes). */
export function payloadObject(payloadBytes: number, seq: number, tsUs: number): { s: string; t: string; p: string } {
  const template = JSON.parse(seqPayload(payloadBytes)) as { p: string };
  return { s: String(seq).padStart(SEQ_DIGITS, '0'), t: String(Math.floor(tsUs)).padStart(TS_DIGITS, '0'), p: template.p };
}

/** How a connection's frames carry their sequence number: the full check of the first (a problem, or undefined), a frame's number (-1: unreadable), its send time in µs (monoUs) if it has one. */
export type SeqFormat = { first(frame: Buffer, expected: number): string | undefined; seq(frame: Buffer): number; sentUs?(frame: Buffer): number };

/** EVENT EMIT frames of `name` with the sequence payload (located by the first frame). */
export function eventFormat(name: string, payloadBytes: number): SeqFormat {
  let at = -1;
  let length = -1;
  return {
    first(frame) {
      const m = binaryCodec.decode(frame);
      let ok = m?.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === name && typeof m.data === 'string' && m.data.length === payloadBytes;
      try {
        const value = ok ? (JSON.parse(m!.data as string) as Record<string, unknown>) : {};
        ok &&= typeof value.s === 'string' && typeof value.t === 'string' && typeof value.p === 'string';
      } catch {
        ok = false;
      }
      if (!ok || frame.indexOf(SEQ_MARKER) < 0) return `first frame is not EVENT EMIT "${name}" with a ${payloadBytes}-byte sequence payload: ${JSON.stringify(m)?.slice(0, 200)}`;
      at = frame.indexOf(SEQ_MARKER) + SEQ_MARKER.length;
      length = frame.length;
      return undefined;
    },
    seq: (frame) => (frame.length === length ? readDigits(frame, at, SEQ_DIGITS) : -1),
    sentUs: (frame) => readDigits(frame, at + TS_AFTER_SEQ, TS_DIGITS),
  };
}

/** UPDATE/PATCH broadcasts of record `name`: the version is the sequence; the first must be a PATCH of `value` with `data`. */
export function recordFormat(name: string, data: string): SeqFormat {
  return {
    first(frame, expected) {
      const m = binaryCodec.decode(frame);
      const ok = m?.topic === TOPIC.RECORD && m.action === RECORD_ACTION.PATCH && m.name === name && m.path === 'value' && m.data === data && m.version === expected && m.isWriteAck !== true && m.correlationId === undefined;
      return ok ? undefined : `first broadcast is not the expected PATCH v${expected}: ${describe(m)}`;
    },
    seq: recordVersion,
  };
}

/** One connection's sequence check; `next` starts at the first number expected. */
export class SeqChecker {
  received = 0;
  gaps = 0;
  /** Numbers skipped over, summed (a jump from 4 to 7 misses 2); frames at or below a number seen (repeats, reordering); unreadable frames. */
  missing = 0;
  backwards = 0;
  bad = 0;
  /** The first frame passed the full check (undefined until one arrives); the first problem seen. */
  verified: boolean | undefined;
  problem: string | undefined;

  constructor(
    private readonly format: SeqFormat,
    public next = 1,
    /** Where latency samples go (µs, send → receipt) while `on`: reading the timestamp costs load-generator CPU. */
    private readonly latency?: { on: boolean; add(us: number): void },
  ) {}

  onFrame(frame: Buffer): void {
    if (this.verified === undefined) {
      this.problem = this.format.first(frame, this.next);
      this.verified = this.problem === undefined;
    }
    const seq = this.verified ? this.format.seq(frame) : -1;
    if (seq < 0) {
      this.bad++;
      this.problem ??= `frame of ${frame.length} bytes without a readable sequence number`;
      return;
    }
    this.received++;
    if (seq === this.next) this.next++;
    else if (seq > this.next) {
      this.gaps++;
      this.missing += seq - this.next;
      this.problem ??= `expected #${this.next}, got #${seq}`;
      this.next = seq + 1;
    } else {
      this.backwards++;
      this.problem ??= `expected #${this.next}, got #${seq} again or late`;
    }
    if (this.latency?.on === true && this.format.sentUs !== undefined) {
      const sentUs = this.format.sentUs(frame);
      if (sentUs > 0) this.latency.add(monoUs() - sentUs);
    }
  }
}

// Latency histogram: 200 log buckets per factor of ten from 1 µs to 1000 s, exact count/min/max/sum

const BUCKETS_PER_DECADE = 200;
const BUCKET_COUNT = 9 * BUCKETS_PER_DECADE;

/** What crosses the IPC channel: non-empty buckets as [index, count] pairs. */
export type HistogramSnapshot = { count: number; min: number; max: number; sum: number; buckets: Array<[number, number]> };

export class Histogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private s = { count: 0, min: Infinity, max: 0, sum: 0 };

  add(us: number): void {
    this.counts[us > 1 ? Math.min(BUCKET_COUNT - 1, Math.floor(Math.log10(us) * BUCKETS_PER_DECADE)) : 0]!++;
    const s = this.s; // the hot path of latency sampling: no allocation here
    s.count++;
    s.sum += us;
    if (us < s.min) s.min = us;
    if (us > s.max) s.max = us;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((n, i) => n > 0 && buckets.push([i, n]));
    return { ...this.s, ...(this.s.count === 0 ? { min: NaN, max: NaN } : {}), buckets };
  }
}

export function mergeHistograms(parts: readonly HistogramSnapshot[]): HistogramSnapshot {
  const counts = new Map<number, number>();
  const total: HistogramSnapshot = { count: 0, min: Infinity, max: -Infinity, sum: 0, buckets: [] };
  for (const part of parts) {
    if (part.count === 0) continue;
    total.count += part.count;
    total.min = Math.min(total.min, part.min);
    total.max = Math.max(total.max, part.max);
    total.sum += part.sum;
    for (const [i, n] of part.buckets) counts.set(i, (counts.get(i) ?? 0) + n);
  }
  total.buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  if (total.count === 0) Object.assign(total, { min: NaN, max: NaN });
  return total;
}

/** The p-th percentile (0..100): the geometric middle of its bucket, kept within [min, max]; NaN when empty. */
export function percentile(s: HistogramSnapshot, p: number): number {
  if (s.count === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.count));
  let seen = 0;
  for (const [i, n] of s.buckets) {
    seen += n;
    if (seen >= rank) return Math.min(s.max, Math.max(s.min, 10 ** ((i + 0.5) / BUCKETS_PER_DECADE)));
  }
  return s.max;
}

export const mean = (s: HistogramSnapshot): number => (s.count > 0 ? s.sum / s.count : NaN);
