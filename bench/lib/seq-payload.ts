/**
 * Sequence-numbered, timestamped event payloads for bench/compare.ts: the publisher patches the
 * digits of one pre-encoded frame in place for every emit (no per-emit encoding), subscribers read
 * them back from the bytes they receive (no per-frame decode) and check that every connection gets
 * 1, 2, 3, … with nothing missing, repeated or out of order.
 *
 * The payload is a JSON object of exactly `bytes` bytes: {"s":"<10 digits>","t":"<15 digits>","p":"xx…"}
 * s: the sequence number on the event's name (1-based); t: the send time in µs of the monotonic
 * clock shared by all processes of the machine (see monoUs); p: padding. Digits are strings so
 * leading zeros stay valid JSON.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';

/**
 * Drops a load-generator connection with a TCP RST instead of a FIN: no TIME_WAIT entry is left on
 * the loopback. Thousands of them per run (each run opens fresh connections) measurably slow down
 * later runs' socket writes on this machine, which would bias whichever server runs later.
 */
export function resetSocket(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy();
  else ws.terminate();
}

const SEQ_DIGITS = 10;
const TS_DIGITS = 15;
const SEQ_MARKER = '{"s":"';
/** From the first sequence digit to the first timestamp digit: 10 digits + `","t":"`. */
const TS_AFTER_SEQ = SEQ_DIGITS + 7;
const ZERO = 0x30;

/** The payload with zero digits: `{"s":"0000000000","t":"000000000000000","p":"xxx"}`, `bytes` long (at least 48). */
export function seqPayload(bytes: number): string {
  const base = `${SEQ_MARKER}${'0'.repeat(SEQ_DIGITS)}","t":"${'0'.repeat(TS_DIGITS)}","p":""}`;
  return `${SEQ_MARKER}${'0'.repeat(SEQ_DIGITS)}","t":"${'0'.repeat(TS_DIGITS)}","p":"${'x'.repeat(Math.max(0, bytes - base.length))}"}`;
}

/** The name of topic `i` in the many-topics scenario: t0000, t0001, … (all the same length). */
export function topicName(i: number): string {
  return `t${String(i).padStart(4, '0')}`;
}

/** performance.now() mapped onto the monotonic clock (process.hrtime), in µs: comparable across processes. */
const hrBaseUs = (() => {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3 - performance.now() * 1000;
})();
export function monoUs(): number {
  return hrBaseUs + performance.now() * 1000;
}
export function monoMs(): number {
  return monoUs() / 1000;
}

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

  constructor(
    readonly name: string,
    payloadBytes: number,
  ) {
    this.frame = Buffer.from(binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: seqPayload(payloadBytes) }));
    this.seqAt = this.frame.indexOf(SEQ_MARKER) + SEQ_MARKER.length;
  }

  /**
   * The frame with `seq` and `tsUs` written in. Send it before the next stamp: the buffer is reused
   * (ws copies client frames while masking them, so it may be stamped again right after `send`).
   */
  stamp(seq: number, tsUs: number): Buffer {
    writeDigits(this.frame, this.seqAt, SEQ_DIGITS, seq);
    writeDigits(this.frame, this.seqAt + TS_AFTER_SEQ, TS_DIGITS, Math.floor(tsUs));
    return this.frame;
  }
}

/** The payload as an object, as an official client would emit it (its JSON text is the same bytes). */
export function payloadObject(payloadBytes: number, seq: number, tsUs: number): { s: string; t: string; p: string } {
  const template = JSON.parse(seqPayload(payloadBytes)) as { s: string; t: string; p: string };
  return { s: String(seq).padStart(SEQ_DIGITS, '0'), t: String(Math.floor(tsUs)).padStart(TS_DIGITS, '0'), p: template.p };
}

/**
 * Latency histogram: 10 µs buckets up to 20 ms, then 1 ms buckets up to 10 s, plus an overflow
 * count. Percentiles are read as the upper bound of their bucket.
 */
const FINE_BUCKETS = 2_000;
const FINE_US = 10;
const COARSE_US = 1_000;
export const HIST_BUCKETS = FINE_BUCKETS + 9_980;

function bucketOf(us: number): number {
  if (us < FINE_BUCKETS * FINE_US) return us < 0 ? 0 : Math.floor(us / FINE_US);
  return FINE_BUCKETS + Math.floor((us - FINE_BUCKETS * FINE_US) / COARSE_US);
}

/** The upper bound, in µs, of bucket `i`. */
export function bucketUpperUs(i: number): number {
  return i < FINE_BUCKETS ? (i + 1) * FINE_US : FINE_BUCKETS * FINE_US + (i - FINE_BUCKETS + 1) * COARSE_US;
}

export interface SeqCounts {
  received: number;
  /** Frames whose sequence number was above the next expected one (each is a gap). */
  gaps: number;
  /** Sequence numbers skipped over, summed. */
  missing: number;
  /** Frames whose sequence number was at or below one already seen (duplicates, reordering). */
  reordered: number;
  /** Frames whose digits could not be read where the first frame had them. */
  badFrames: number;
}

/**
 * Checks one connection's EMIT frames for `name`: the first one is decoded in full (EVENT EMIT,
 * the name, a payload of the expected shape and size), which also locates the digits; every later
 * one is read at the same offset, as the server's frames for one name all have the same layout.
 */
export class SeqChecker implements SeqCounts {
  received = 0;
  gaps = 0;
  missing = 0;
  reordered = 0;
  badFrames = 0;
  /** The first frame passed the full check (undefined until one arrives). */
  verified: boolean | undefined;
  problem: string | undefined;
  private next = 1;
  private seqAt = -1;
  private length = -1;

  constructor(
    readonly name: string,
    private readonly payloadBytes: number,
    /** Where to add latency samples (µs, send → receive), or nothing. */
    private readonly histogram?: { add(us: number): void },
  ) {}

  onFrame(frame: Buffer): void {
    if (this.seqAt < 0 && !this.locate(frame)) {
      this.badFrames++;
      return;
    }
    const seq = frame.length === this.length ? readDigits(frame, this.seqAt, SEQ_DIGITS) : -1;
    if (seq < 0) {
      this.badFrames++;
      this.problem ??= `frame of ${frame.length} bytes without digits where the first had them`;
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
      this.reordered++;
      this.problem ??= `expected #${this.next}, got #${seq} again or late`;
    }
    if (this.histogram !== undefined) {
      const sentUs = readDigits(frame, this.seqAt + TS_AFTER_SEQ, TS_DIGITS);
      if (sentUs > 0) this.histogram.add(monoUs() - sentUs);
    }
  }

  private locate(frame: Buffer): boolean {
    const m = binaryCodec.decode(frame);
    let ok = m?.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === this.name && typeof m.data === 'string' && m.data.length === this.payloadBytes;
    if (ok) {
      try {
        const value = JSON.parse(m!.data as string) as Record<string, unknown>;
        ok = typeof value.s === 'string' && typeof value.t === 'string' && typeof value.p === 'string';
      } catch {
        ok = false;
      }
    }
    const at = frame.indexOf(SEQ_MARKER);
    if (!ok || at < 0) {
      this.verified = false;
      this.problem ??= `first frame is not EVENT EMIT "${this.name}" with a ${this.payloadBytes}-byte sequence payload: ${JSON.stringify(m)?.slice(0, 200)}`;
      return false;
    }
    this.verified ??= true;
    this.seqAt = at + SEQ_MARKER.length;
    this.length = frame.length;
    return true;
  }
}

export class Histogram {
  readonly buckets = new Uint32Array(HIST_BUCKETS);
  count = 0;
  overflow = 0;
  maxUs = 0;

  add(us: number): void {
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
    const b = bucketOf(us);
    if (b >= HIST_BUCKETS) this.overflow++;
    else this.buckets[b]!++;
  }

  /** Non-empty buckets as [index, count] pairs (for IPC). */
  sparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < HIST_BUCKETS; i++) if (this.buckets[i] !== 0) out.push([i, this.buckets[i] as number]);
    return out;
  }
}

export interface SparseHistogram {
  pairs: Array<[number, number]>;
  count: number;
  overflow: number;
  maxUs: number;
}

/** Percentile `p` (0–100) of merged sparse histograms, in µs (bucket upper bound); NaN when empty. */
export function histPercentile(hists: SparseHistogram[], p: number): number {
  const total = hists.reduce((a, h) => a + h.count, 0);
  if (total === 0) return NaN;
  const merged = new Map<number, number>();
  for (const h of hists) for (const [i, n] of h.pairs) merged.set(i, (merged.get(i) ?? 0) + n);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const i of [...merged.keys()].sort((a, b) => a - b)) {
    seen += merged.get(i) as number;
    if (seen >= rank) return bucketUpperUs(i);
  }
  return Math.max(...hists.map((h) => h.maxUs)); // in the overflow
}
