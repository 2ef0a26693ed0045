import { isDeepStrictEqual } from 'node:util';
import type { Logger, RecordData, Session, StoredRecord } from '@deepstream-ts/core';
import { setPath, type PathToken } from './json-path.ts';

/**
 * Server-side merging of stale writes (RECORDS.md "Merge strategies"). A write whose version is
 * not the record's next one is, under a strategy other than `reject`, applied on top of the
 * latest version instead of being answered with VERSION_EXISTS.
 */

/** `(base, latest, incoming) => merged | 'reject'`; must not change its arguments (they are stored versions). */
export type MergeFunction = (base: RecordData, latest: RecordData, incoming: RecordData) => RecordData | 'reject';
export type MergeStrategy = 'reject' | 'paths' | 'lastWriterWins' | MergeFunction;

/** What a merge needs to know about a write (a subset of the queue's `Write`). */
export interface MergeableWrite {
  readonly session: Session;
  readonly version: number;
  readonly path?: { readonly tokens: readonly PathToken[] };
  readonly value: unknown;
}

type Path = readonly PathToken[];

/** One version of a record as this node saw it, and what it knows of the write that made it. */
interface Entry {
  readonly record: StoredRecord;
  /** The one path a patch changed; undefined: compare with the entry before. */
  readonly path: Path | undefined;
  /** The session id of who wrote it (undefined: loaded, or made by a merge function); an id, so closed sessions are not kept. */
  readonly writer: string | undefined;
  /** The version the writer sent. */
  readonly sent: number;
  /** The latest version the writer had seen when it wrote. */
  readonly seen: number;
  /** What it changed, compared once with the version right before it (an UPDATE, a merge). */
  changed?: Path[];
}

/**
 * The last versions of one record, bounded. Stored versions are never mutated and patches copy
 * only the containers along their path, so an entry costs little more than a reference.
 */
export class History {
  private entries: Entry[] = [];

  constructor(private readonly limit: number) {}

  /** A version read from the cache (first load, or after another node's write won). */
  observe(record: StoredRecord): void {
    const last = this.entries.at(-1);
    // Known already, or older than what another node's broadcast brought while it was read.
    if (last !== undefined && last.record.version >= record.version) return;
    this.push({ record, path: undefined, writer: undefined, sent: -1, seen: -1 });
  }

  /** The record changed behind the server's back: nothing kept holds any more. */
  clear(): void {
    this.entries = [];
  }

  committed(record: StoredRecord, path: Path | undefined, writer: string | undefined, sent: number, seen: number): void {
    this.push({ record, path, writer, sent, seen });
  }

  /**
   * Another node's write, as its broadcast told us (this node may have read later versions
   * already): kept in version order, a patch only where the version before it is known.
   */
  followed(version: number, path: Path | undefined, value: unknown): void {
    let at = this.entries.length;
    while (at > 0 && this.entries[at - 1]!.record.version >= version) at--;
    if (this.entries[at]?.record.version === version) return;
    const before = this.entries[at - 1];
    if (path !== undefined && before?.record.version !== version - 1) return;
    const data = (path === undefined ? value : setPath(before!.record.data, path, value)) as RecordData;
    this.entries.splice(at, 0, { record: { version, data }, path, writer: undefined, sent: -1, seen: -1 });
    if (this.entries.length > this.limit) this.entries.shift();
  }

  private push(entry: Entry): void {
    const last = this.entries.at(-1);
    // Versions only grow; anything else means the record was recreated behind us.
    if (last !== undefined && last.record.version >= entry.record.version) this.entries = [];
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.shift();
  }

  /**
   * The latest version the writer of version `sent` had seen. Its `sent - 1` is a server version,
   * unless it is the writer's own earlier write that a merge placed elsewhere: then it had seen
   * what that write had seen (the older of the two, to be safe).
   */
  seenBy(writer: string, sent: number): number {
    let seen = sent - 1;
    for (const entry of this.entries) if (entry.writer === writer && entry.sent === sent - 1 && entry.seen < seen) seen = entry.seen;
    return seen;
  }

  snapshot(version: number): StoredRecord | undefined {
    return this.entries[this.find(version)]?.record;
  }

  private find(version: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.record.version === version) return i;
    return -1;
  }

  /**
   * Paths changed after version `seen` by anyone but `writer`, up to the latest entry (which the
   * queue keeps equal to the current version); undefined when `seen` is older than the history.
   */
  changedSince(seen: number, writer: string): Path[] | undefined {
    const start = this.find(seen);
    if (start === -1) return undefined;
    const paths: Path[] = [];
    for (let i = start + 1; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const before = this.entries[i - 1]!;
      const contiguous = entry.record.version === before.record.version + 1;
      if (contiguous && entry.writer === writer) continue; // the writer knows its own changes
      if (contiguous && entry.path !== undefined) paths.push(entry.path);
      else if (contiguous) paths.push(...(entry.changed ??= changedPaths(before.record.data, entry.record.data, [], [])));
      else changedPaths(before.record.data, entry.record.data, [], paths);
    }
    return paths;
  }
}

/** A merge's result: the data to store at the latest version + 1. */
export interface Merged {
  readonly data: RecordData;
  /** The writer's path for the history (a patch merged by path or last-writer-wins). */
  readonly path: Path | undefined;
  /** The version the writer had seen. */
  readonly seen: number;
  /** false: a merge function made it, so the change is not the writer's alone. */
  readonly byWriter: boolean;
}

/** One record's strategy and history. */
export class Merger {
  constructor(
    private readonly strategy: Exclude<MergeStrategy, 'reject'>,
    readonly history: History | undefined,
    private readonly log: Logger,
    private readonly name: string,
  ) {}

  /** `write` on top of `latest`, or undefined when it must be refused with VERSION_EXISTS. */
  merge(write: MergeableWrite, latest: StoredRecord): Merged | undefined {
    const tokens = write.path?.tokens;
    if (this.strategy === 'lastWriterWins') {
      const data = (tokens === undefined ? write.value : setPath(latest.data, tokens, write.value)) as RecordData;
      return { data, path: tokens, seen: write.version - 1, byWriter: true };
    }
    const history = this.history!;
    const seen = history.seenBy(write.session.id, write.version);
    const base = history.snapshot(seen);
    if (base === undefined) return undefined;
    if (this.strategy === 'paths') {
      const theirs = history.changedSince(seen, write.session.id);
      if (theirs === undefined) return undefined;
      const mine = tokens === undefined ? changedPaths(base.data, write.value, [], []) : [tokens];
      if (mine.some((path) => theirs.some((other) => overlap(path, other)))) return undefined;
      let data = latest.data;
      if (tokens !== undefined) data = setPath(data, tokens, write.value);
      else for (const path of mine) data = path.length === 0 ? (write.value as RecordData) : setPath(data, path, valueAt(write.value, path));
      return { data, path: tokens, seen, byWriter: true };
    }
    const incoming = (tokens === undefined ? write.value : setPath(base.data, tokens, write.value)) as RecordData;
    let result: unknown;
    try {
      result = this.strategy(base.data, latest.data, incoming);
    } catch (error) {
      this.log.error({ err: error, record: this.name }, 'merge function threw; the write is refused with VERSION_EXISTS');
      return undefined;
    }
    if (result === 'reject') return undefined;
    if (result === null || typeof result !== 'object') {
      this.log.error({ record: this.name, got: typeof result }, 'merge function returned neither an object, an array nor "reject"; the write is refused');
      return undefined;
    }
    return { data: result as RecordData, path: undefined, seen, byWriter: false };
  }
}

/**
 * Appends to `out` the paths where `a` and `b` differ: keys of plain objects are followed, any
 * other difference (arrays included, which merge as whole values) is reported where it starts.
 */
export function changedPaths(a: unknown, b: unknown, prefix: PathToken[], out: Path[]): Path[] {
  if (a === b) return out;
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) {
      if (!Object.hasOwn(b, key)) out.push([...prefix, key]);
      else {
        prefix.push(key);
        changedPaths(a[key], b[key], prefix, out);
        prefix.pop();
      }
    }
    for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) out.push([...prefix, key]);
  } else if (!isDeepStrictEqual(a, b)) out.push([...prefix]);
  return out;
}

/** Two changes collide when one path lies within the other (`a` and `a.b`, or the same path). */
export function overlap(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const token of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PathToken, unknown>)[token];
  }
  return node;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A record name pattern: `*` matches any run of characters, everything else itself. */
export function namePattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}
