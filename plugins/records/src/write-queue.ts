import { RECORD_ACTION, TOPIC, type AuthorizationFacts, type Logger, type Message, type RecordData, type Session, type StoredRecord } from '@deepstream-ts/core';
import { setPath, type PathToken } from './json-path.ts';
import { History, Merger, namePattern, type Merged, type MergeStrategy } from './merge.ts';
import { LoadFailure, WriteFailure, type RecordStore } from './record-store.ts';

/**
 * A write that loses the cache's version check to another node is retried on top of what won
 * while it keeps losing (a -1 or merged write; any other ends at the reload as stale): each loss
 * is another writer's progress, not a conflict of its own. Bounded by `storageWriteTimeout` from
 * its first attempt and, against a broken cache that loses at once every time, by this many tries,
 * far more than other nodes' queues can win in that time.
 */
const MAX_COMMIT_ATTEMPTS = 10_000;
/** `storageWriteTimeout` when the settings do not say (records options default). */
const DEFAULT_COMMIT_BUDGET = 5000;

/** One validated write, normalised to UPDATE (whole record) or PATCH (one path). */
export interface Write {
  readonly session: Session;
  /** The message as the client sent it, for echoes. */
  readonly request: Message;
  readonly name: string;
  readonly action: RECORD_ACTION.UPDATE | RECORD_ACTION.PATCH;
  /** The requested version; -1 means "the next one". */
  readonly version: number;
  readonly path?: { readonly text: string; readonly tokens: readonly PathToken[] };
  /** The new data (UPDATE) or path value (PATCH); undefined deletes the path. */
  readonly value: unknown;
  /** The JSON text the client sent, relayed as is in the broadcast. */
  readonly dataText: string | undefined;
  /** A missing record starts as `{}` v0 instead of failing (setData, or any write with an ack). */
  readonly upsert: boolean;
  /** setData with no write queued at arrival is checked against `create` even on an existing record (SECURITY §3.4). */
  readonly checkCreate: boolean;
  readonly writeAck: boolean;
  readonly correlationId: string | undefined;
}

export interface QueueEnvironment {
  readonly store: RecordStore;
  readonly log: Logger;
  /**
   * Asks the permission plugins again about a write already allowed, after another node's write
   * won and the record changed under it; replies MESSAGE_DENIED itself. `creates`: the write would
   * create the record.
   */
  reauthorize(write: Write, creates: boolean, facts: AuthorizationFacts): Promise<boolean>;
  /**
   * Sends to every subscriber of the record except `except`, and to other nodes; `except` gets
   * `ownCopy` instead when given and it is subscribed.
   */
  broadcast(name: string, message: Message, except: Session | undefined, ownCopy?: Message): void;
}

/** The merge options (records options `merge`, `mergeHistory`, `mergeHistoryRecords`). */
export interface MergeSettings {
  readonly merge: readonly { readonly names: string; readonly strategy: MergeStrategy }[];
  readonly mergeHistory: number;
  readonly mergeHistoryRecords: number;
  /** Milliseconds one write may spend retrying lost compare-and-sets (records option, 5000). */
  readonly storageWriteTimeout?: number;
}

/**
 * Per-record write queues (RECORDS §5, the upstream v10 rules). Writes to one record are
 * admitted, applied and persisted strictly in order; different records never wait for each other.
 */
export class WriteQueues {
  private readonly queues = new Map<string, RecordQueue>();
  private readonly rules: readonly { readonly pattern: RegExp; readonly strategy: MergeStrategy }[];
  /** Merge histories by record, least recently written first; they outlive the queues. */
  private readonly histories = new Map<string, History>();

  constructor(
    private readonly env: QueueEnvironment,
    private readonly settings: MergeSettings = { merge: [], mergeHistory: 1, mergeHistoryRecords: 1 },
  ) {
    this.rules = settings.merge.map((rule) => ({ pattern: namePattern(rule.names), strategy: rule.strategy }));
  }

  /** The record's strategy and history, undefined under `reject`. */
  private mergerFor(name: string): Merger | undefined {
    const strategy = this.rules.find((rule) => rule.pattern.test(name))?.strategy ?? 'reject';
    if (strategy === 'reject') return undefined;
    if (strategy === 'lastWriterWins') return new Merger(strategy, undefined, this.env.log, name);
    let history = this.histories.get(name);
    if (history !== undefined) this.histories.delete(name);
    else history = new History(this.settings.mergeHistory);
    this.histories.set(name, history);
    if (this.histories.size > this.settings.mergeHistoryRecords) this.histories.delete(this.histories.keys().next().value!);
    return new Merger(strategy, history, this.env.log, name);
  }

  /** The latest version this node applied, while the record has a queue (reads then never lag its broadcasts). */
  latest(name: string): StoredRecord | undefined {
    return this.queues.get(name)?.latest;
  }

  /** Another node's write of a record this node keeps a merge history of (`path` undefined: an UPDATE). */
  followOtherNode(name: string, version: number, path: readonly PathToken[] | undefined, value: unknown): void {
    this.histories.get(name)?.followed(version, path, value);
    this.queues.get(name)?.followed(version);
  }

  hasHistory(name: string): boolean {
    return this.histories.has(name);
  }

  /** The record changed behind the server's back (NOTIFY): versions kept to merge by no longer hold. */
  forgetHistory(name: string): void {
    this.histories.get(name)?.clear(); // a queue alive may hold it
    this.histories.delete(name);
  }

  get size(): number {
    return this.queues.size;
  }

  has(name: string): boolean {
    return this.queues.has(name);
  }

  /** A write nothing needs to judge first (no permission plugin is configured). */
  submit(write: Write): void {
    this.queueFor(write.name).admit(write);
  }

  /**
   * Takes a place in the record's queue for a write that is still to be judged: its facts resolve
   * when the writes queued before it are applied, and the queue waits there until the ticket is
   * admitted (allowed) or released (denied).
   */
  reserve(write: Write): WriteTicket {
    const ticket = new WriteTicket(write);
    this.queueFor(write.name).enqueue(ticket);
    return ticket;
  }

  private queueFor(name: string): RecordQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      const created: RecordQueue = new RecordQueue(name, this.env, this.mergerFor(name), this.settings.storageWriteTimeout ?? DEFAULT_COMMIT_BUDGET, () => {
        if (this.queues.get(name) === created) this.queues.delete(name);
      });
      this.queues.set(name, (queue = created));
    }
    return queue;
  }

  /** Creates the record as `{}` v0 unless it exists; resolves with what is current either way. */
  create(name: string): Promise<StoredRecord> {
    return this.queueFor(name).create();
  }

  /** Resolves once every queue has applied and stored its writes (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.allSettled([...this.queues.values()].map((queue) => queue.finished));
  }

  /** Drops a record's pending writes without replies (the record is being deleted, RECORDS §8). */
  abort(name: string): void {
    this.queues.get(name)?.abort();
    this.queues.delete(name);
    this.histories.delete(name);
  }
}

/** Creating a missing record for a subscriber goes through the queue too, so it can never overwrite a write. */
interface Creation {
  readonly kind: 'create';
  settle(result: StoredRecord | Error): void;
}
/**
 * A write refused at admission as stale. Its VERSION_EXISTS waits for the writes admitted before
 * it, so that it carries the version and data the writer must merge with.
 */
interface Conflict {
  readonly kind: 'conflict';
  readonly write: Write;
}
type Step = Write | Creation | Conflict | WriteTicket;

/** A write's outcome against the current version; `merged` is set when a merge made `data`. */
type Plan = { readonly version: number; readonly data: RecordData; readonly merged: Merged | undefined } | 'stale' | 'invalid';

class RecordQueue {
  private readonly steps: Step[] = [];
  private lastVersion: number | undefined;
  /** undefined: not loaded yet; null: loaded, and the record does not exist. */
  private current: StoredRecord | null | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  /** Set while the queue, out of steps, waits for storage: a new step ends the wait. */
  private wake: (() => void) | undefined;
  private aborted = false;
  /** Settles when the queue has nothing left to apply or store. */
  readonly finished: Promise<void>;
  private markFinished!: () => void;

  constructor(
    private readonly name: string,
    private readonly env: QueueEnvironment,
    /** Undefined under `reject`: a stale write gets VERSION_EXISTS. */
    private readonly merger: Merger | undefined,
    /** Milliseconds a write may spend retrying lost compare-and-sets. */
    private readonly commitBudget: number,
    private readonly remove: () => void,
  ) {
    this.finished = new Promise((resolve) => (this.markFinished = resolve));
  }

  get latest(): StoredRecord | undefined {
    return this.current ?? undefined;
  }

  /** Another node wrote `version`: a writer that saw it may send the one after. */
  followed(version: number): void {
    if (this.merger !== undefined && (this.lastVersion === undefined || version > this.lastVersion)) this.lastVersion = version;
  }

  admit(write: Write): void {
    const v = write.version;
    if (v !== -1 && this.lastVersion !== undefined && v <= this.lastVersion) {
      // Stale: refused at its turn, or merged there with what the writes before it left.
      return this.enqueue(this.merger === undefined ? { kind: 'conflict', write } : write);
    }
    if (v !== -1 && this.lastVersion !== undefined && v > this.lastVersion + 1) {
      return this.replyInvalidVersion(write, write.version);
    }
    if (v !== -1) this.lastVersion = v;
    this.enqueue(write);
  }

  create(): Promise<StoredRecord> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'create', settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) }));
  }

  abort(): void {
    this.aborted = true;
    for (const step of this.steps.splice(0)) {
      if (!('kind' in step)) continue;
      if (step.kind === 'create') step.settle(new Error('the record was deleted'));
      else if (step.kind === 'ticket') step.drop();
    }
  }

  enqueue(step: Step): void {
    this.steps.push(step);
    if (!this.running) void this.run();
    else this.wake?.();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      if (this.current === undefined && !(await this.load())) return;
      while (!this.aborted) {
        const step = this.steps.shift();
        if (step !== undefined) {
          if (!(await this.applyStep(step))) return;
          continue;
        }
        // The queue outlives its last step until storage has everything, so that a new queue
        // never loads a version older than one already broadcast.
        // A new write does not wait for them, though: its cache write may go ahead of the storage
        // commits of the ones before (each acknowledgement still waits for its own commit).
        if (this.inFlight.size === 0) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void Promise.allSettled([...this.inFlight]).then(() => resolve());
        });
        this.wake = undefined;
      }
    } finally {
      this.running = false;
      if (this.aborted || this.steps.length === 0) {
        this.remove();
        this.markFinished();
      }
    }
  }

  private async load(): Promise<boolean> {
    try {
      this.current = (await this.env.store.load(this.name, false)) ?? null;
      if (this.current !== null) this.merger?.history?.observe(this.current);
    } catch (error) {
      this.fail(error instanceof LoadFailure ? error : new Error(String(error)));
      return false;
    }
    return !this.aborted;
  }

  /** Applies one step; false when the queue had to be given up. */
  private async applyStep(step: Step): Promise<boolean> {
    if (!('kind' in step)) return this.applyWrites(step);
    if (step.kind === 'create') return this.applyCreation(step);
    if (step.kind === 'ticket') return this.applyTicket(step);
    if (this.current === null || this.current === undefined) step.write.session.send(updateError(step.write));
    else this.replyVersionExists(step.write);
    return true;
  }

  /**
   * The turn of a write being judged: its facts now see the record as every write before it left
   * it, and the queue waits for the verdict. Allowed, it is admitted here, at its turn: the
   * version checks of `admit` apply to the state it will really meet.
   */
  private async applyTicket(ticket: WriteTicket): Promise<boolean> {
    const { write } = ticket;
    const previous = this.current ?? undefined;
    // Rules judge what will be stored: with a merge, the merged data.
    const plan = this.plan(write, previous);
    if (!(await ticket.reach(previous ?? null, typeof plan === 'object' ? plan.data : undefined))) return !this.aborted;
    if (this.aborted) return false;
    const v = write.version;
    if (v !== -1 && this.lastVersion !== undefined && v <= this.lastVersion && this.merger === undefined) {
      this.replyVersionExists(write);
      return true;
    }
    if (v !== -1 && this.lastVersion !== undefined && v > this.lastVersion + 1) {
      this.replyInvalidVersion(write, write.version);
      return true;
    }
    if (v !== -1 && (this.lastVersion === undefined || v > this.lastVersion)) this.lastVersion = v;
    return this.apply(write, true, plan);
  }

  /**
   * `first` and the plain writes queued right behind it that land as they are (no merge, no
   * judging, no refusal) are applied in memory, in order, and committed as one change: one cache
   * compare-and-set from the current version to the last one and one storage write, instead of
   * one round trip each. Each is still broadcast at its own version, in order, and acknowledged
   * only once storage has the result. A busy record then costs a round trip per batch of writes,
   * not per write.
   */
  private async applyWrites(first: Write): Promise<boolean> {
    const run = this.merger === undefined ? this.landingRun(first) : undefined;
    if (run === undefined) return this.apply(first);
    const previous = this.current ?? undefined;
    const last = run[run.length - 1]!.record;
    const { cache, durable } = this.env.store.commit(this.name, last, previous?.version);
    let won: boolean;
    try {
      won = await cache;
    } catch (error) {
      for (let i = 1; i < run.length; i++) run[i]!.write.session.send(updateError(run[i]!.write));
      this.failAfterWriteError(first, error as WriteFailure);
      return false;
    }
    if (!won) {
      // Another node wrote first: each write goes its own way again (reload, plan, retry).
      this.steps.unshift(...run.slice(1).map((landing) => landing.write));
      return this.apply(first);
    }
    this.current = last;
    for (const { write } of run) this.track(this.acknowledge(write, durable));
    if (this.aborted) return false;
    for (const { write, record } of run) this.env.broadcast(this.name, broadcastOf(write, record.version), write.session);
    return true;
  }

  /**
   * `first` and the writes queued behind it, taken off the queue, with the version each leaves,
   * while each lands on the one before as it is; undefined when fewer than two do.
   */
  private landingRun(first: Write): { readonly write: Write; readonly record: StoredRecord }[] | undefined {
    const run: { write: Write; record: StoredRecord }[] = [];
    let state = this.current ?? undefined;
    for (let write: Write | undefined = first; write !== undefined; ) {
      if (state === undefined && !write.upsert) break;
      const plan = this.plan(write, state);
      if (typeof plan !== 'object') break;
      state = { version: plan.version, data: plan.data };
      run.push({ write, record: state });
      if (write !== first) this.steps.shift();
      const next: Step | undefined = this.steps[0];
      write = next !== undefined && !('kind' in next) ? next : undefined;
    }
    if (run.length >= 2) return run;
    return undefined;
  }

  /** `judged`: the write was allowed against the current state (or nothing judges writes). */
  private async apply(write: Write, judged = true, plan?: Plan): Promise<boolean> {
    // Another node may win the cache's version check; then the record is reloaded and the write
    // judged again (and merged again) against what won (a -1 write simply goes on top).
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      const outcome = await this.tryApply(write, judged && attempt === 0, attempt === 0 ? plan : undefined, attempt === 0);
      if (outcome !== 'lost') return outcome;
      attempt++;
      const spent = Date.now() - started;
      if (attempt >= MAX_COMMIT_ATTEMPTS || spent >= this.commitBudget) {
        this.env.log.warn({ record: this.name, attempts: attempt, ms: spent }, 'record write given up: other nodes kept winning the cache compare-and-set');
        write.session.send(updateError(write));
        return true;
      }
      if (!(await this.reload())) return false;
    }
  }

  /**
   * What `write` does to `previous`: lands at the next version (merged, when it was stale and the
   * record's strategy allows it), or is refused as stale or too new.
   */
  private plan(write: Write, previous: StoredRecord | undefined): Plan {
    const current = previous ?? EMPTY;
    const next = current.version + 1;
    if (write.version === -1 || write.version === next) return { version: next, data: dataAfter(write, previous), merged: undefined };
    if (write.version > next) return 'invalid';
    const merged = previous === undefined ? undefined : this.merger?.merge(write, previous);
    return merged === undefined ? 'stale' : { version: next, data: merged.data, merged };
  }

  /** `first`: a version this node has not seen yet may be another node's; then it reloads once. */
  private async tryApply(write: Write, judged: boolean, planned: Plan | undefined, first: boolean): Promise<boolean | 'lost'> {
    if (this.current === null && !write.upsert) {
      // Only setData and acknowledged writes create records (RECORDS §5.2); a plain update of a
      // missing (e.g. deleted) record is refused.
      write.session.send(updateError(write));
      return true;
    }
    const previous = this.current ?? undefined;
    const plan = planned ?? this.plan(write, previous);
    if (plan === 'invalid' && first && this.merger !== undefined) return 'lost';
    if (!judged) {
      const facts = new WriteFacts(write, previous, typeof plan === 'object' ? plan.data : undefined);
      if (!(await this.env.reauthorize(write, previous === undefined, facts))) return true;
      if (this.aborted) return false;
    }
    if (plan === 'invalid') {
      this.replyInvalidVersion(write, (previous ?? EMPTY).version);
      return true;
    }
    if (plan === 'stale') {
      this.replyVersionExists(write);
      return true;
    }
    const { version, merged } = plan;
    const next: StoredRecord = { version, data: plan.data };
    const { cache, durable } = this.env.store.commit(this.name, next, previous?.version);
    let won: boolean;
    try {
      won = await cache;
    } catch (error) {
      this.failAfterWriteError(write, error as WriteFailure);
      return false;
    }
    if (!won) return 'lost';
    this.current = next;
    this.remember(write, next, merged);
    this.track(this.acknowledge(write, durable));
    if (this.aborted) return false;
    if (merged === undefined) this.env.broadcast(this.name, broadcastOf(write, version), write.session);
    else this.broadcastMerged(write, next, merged);
    return true;
  }

  /** Keeps the version for later merges; a merged version moves the next expected one on. */
  private remember(write: Write, next: StoredRecord, merged: Merged | undefined): void {
    const history = this.merger?.history;
    if (this.merger !== undefined && (this.lastVersion === undefined || next.version > this.lastVersion)) this.lastVersion = next.version;
    if (history === undefined) return;
    const byWriter = merged === undefined || merged.byWriter;
    const seen = merged?.seen ?? (write.version === -1 ? next.version - 1 : write.version - 1);
    history.committed(next, merged === undefined ? write.path?.tokens : merged.path, byWriter ? write.session.id : undefined, write.version, seen);
  }

  /**
   * Subscribers at the version before get the write as it was (a merged patch is still that
   * patch) or the merged data; the writer, whose copy is at another version, gets the result whole.
   */
  private broadcastMerged(write: Write, next: StoredRecord, merged: Merged): void {
    const whole: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name: this.name, version: next.version, data: JSON.stringify(next.data), isWriteAck: false };
    const asPatch = merged.byWriter && write.path !== undefined;
    this.env.broadcast(this.name, asPatch ? broadcastOf(write, next.version) : whole, write.session, whole);
  }

  /** Reads the record again after another node's write won; false when that failed. */
  private async reload(): Promise<boolean> {
    try {
      this.current = (await this.env.store.load(this.name, false)) ?? null;
      if (this.current !== null) this.merger?.history?.observe(this.current);
      return !this.aborted;
    } catch (error) {
      this.fail(error as Error);
      return false;
    }
  }

  /** A subscriber's "create if missing": `{}` at version 0, cache awaited, storage in the background. */
  private async applyCreation(step: Creation): Promise<boolean> {
    if (this.current !== null && this.current !== undefined) {
      step.settle(this.current);
      return true;
    }
    const created: StoredRecord = { version: 0, data: {} };
    const { cache, durable } = this.env.store.commit(this.name, created, undefined);
    this.track(durable.catch(() => undefined)); // logged by the store; nobody waits for an ack here
    let won: boolean;
    try {
      won = await cache;
    } catch (error) {
      step.settle(error as Error);
      this.fail(error as Error);
      return false;
    }
    if (!won) {
      // Another node created it first: take theirs.
      if (!(await this.reload())) return false;
      step.settle(this.current ?? created);
      return true;
    }
    this.current = created;
    step.settle(created);
    return true;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.then(() => this.inFlight.delete(work));
  }

  /** Acknowledges once cache and storage both have the write; never rejects. */
  private async acknowledge(write: Write, durable: Promise<void>): Promise<void> {
    try {
      await durable;
      if (write.writeAck) {
        write.session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT, name: this.name, correlationId: write.correlationId, isWriteAck: true });
      }
    } catch {
      // Logged by the store. The client learns its write is not safe (RECORDS §5.6).
      write.session.send(updateError(write));
    }
  }

  /**
   * A version too far ahead: the INVALID_VERSION echo (RECORDS §5.2), an error for a write-ack
   * writer, then the current version and data as VERSION_EXISTS without a correlation id. The
   * official client ignores INVALID_VERSION itself and reads a write-ack reply without `isError` as
   * success; a client is this far ahead after its own writes failed (a cache outage), and the
   * VERSION_EXISTS makes it adopt the real version, so its next writes land again.
   */
  private replyInvalidVersion(write: Write, version: number | undefined): void {
    const reply: Message = { ...echo(write), action: RECORD_ACTION.INVALID_VERSION, originalAction: write.request.action };
    if (version !== undefined) reply.version = version;
    if (write.writeAck) reply.isError = true;
    write.session.send(reply);
    const current = this.current;
    if (current === null || current === undefined) return;
    write.session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.VERSION_EXISTS, name: this.name, version: current.version, data: JSON.stringify(current.data), originalAction: write.action });
  }

  private replyVersionExists(write: Write): void {
    const current = this.current;
    if (current === null || current === undefined) return write.session.send(updateError(write));
    const reply: Message = {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.VERSION_EXISTS,
      name: this.name,
      version: current.version,
      data: JSON.stringify(current.data),
      originalAction: write.action,
    };
    if (write.correlationId !== undefined) reply.correlationId = write.correlationId;
    if (write.writeAck) reply.isWriteAck = true;
    write.session.send(reply);
  }

  /** Every queued writer learns that its write did not happen (RECORDS §5.6). */
  private fail(cause: Error): void {
    this.env.log.warn({ record: this.name, err: cause, pending: this.steps.length }, 'record writes refused');
    for (const step of this.steps.splice(0)) {
      if (!('kind' in step)) step.session.send(updateError(step));
      else if (step.kind === 'create') step.settle(cause);
      else if (step.kind === 'ticket') step.fail(cause);
      else step.write.session.send(updateError(step.write));
    }
    this.aborted = true;
  }

  private failAfterWriteError(write: Write, error: WriteFailure): void {
    // With the ack fields, or the writer's setWithAck would wait for ever.
    write.session.send(updateError(write));
    this.fail(error);
  }
}

/** A missing record, as writes that create it start from (RECORDS §5.2). */
const EMPTY: StoredRecord = Object.freeze({ version: 0, data: Object.freeze({}) });

/**
 * A write's data before and after, as permission rules see them: those of the record as the writes
 * queued before it left it, so a rule judges exactly what will be stored (SECURITY §3.5). The data
 * after is computed once, when a rule or the commit first asks.
 */
class WriteFacts implements AuthorizationFacts {
  constructor(
    private readonly write: Write,
    readonly previous: StoredRecord | undefined,
    /** Known already when the write is merged. */
    private after: RecordData | undefined,
  ) {}

  oldData(): unknown {
    return this.previous?.data ?? null;
  }

  /** The record's data once the write is applied. */
  data(): RecordData {
    this.after ??= dataAfter(this.write, this.previous);
    return this.after;
  }
}

/** The record's data once `write` is applied to `previous`; stored versions are never mutated. */
function dataAfter(write: Write, previous: StoredRecord | undefined): RecordData {
  const { path, value } = write;
  return (path === undefined ? value : setPath((previous ?? EMPTY).data, path.tokens, value)) as RecordData;
}

const enum TicketState {
  Waiting,
  Admitted,
  Released,
  /** The queue gave up (a load or write failed) or the record was deleted: the write will not happen. */
  Gone,
}

/**
 * A write's place in its record's queue, taken when the message is routed and before it is judged
 * (SECURITY §3.5). Its facts resolve once the queue reaches it, against the record exactly as the
 * writes before it left it; the queue then waits for `admit` (allowed) or `release` (denied).
 */
export class WriteTicket implements AuthorizationFacts {
  readonly kind = 'ticket';
  private state = TicketState.Waiting;
  private readonly previous: Promise<StoredRecord | null>;
  private reached!: (record: StoredRecord | null) => void;
  private lost!: (error: Error) => void;
  private verdict: ((admitted: boolean) => void) | undefined;
  private after: Promise<RecordData> | undefined;
  /** Gone because the queue failed: an admission still owes the writer an error reply. */
  private failed = false;

  constructor(readonly write: Write) {
    this.previous = new Promise((resolve, reject) => {
      this.reached = resolve;
      this.lost = reject;
    });
    this.previous.catch(() => undefined); // a check that never asks must not leave it unhandled
  }

  /** The record before this write, null when it does not exist yet. */
  oldData(): Promise<unknown> {
    return this.previous.then((record) => record?.data ?? null);
  }

  /** The record as this write will leave it. */
  data(): Promise<RecordData> {
    this.after ??= this.previous.then((record) => dataAfter(this.write, record ?? undefined));
    return this.after;
  }

  /** Whether the write would create the record. */
  creates(): Promise<boolean> {
    return this.previous.then((record) => record === null, () => true);
  }

  /** Allowed: the write goes ahead at its turn. */
  admit(): void {
    this.settle(TicketState.Admitted);
  }

  /** Denied (and answered): the queue moves on. */
  release(): void {
    this.settle(TicketState.Released);
  }

  /** For the queue, at the ticket's turn: resolves true when the write was admitted. `after`: a merge's result. */
  reach(record: StoredRecord | null, after?: RecordData): Promise<boolean> {
    if (after !== undefined) this.after ??= Promise.resolve(after);
    this.reached(record);
    if (this.state !== TicketState.Waiting) return Promise.resolve(this.state === TicketState.Admitted);
    return new Promise((resolve) => (this.verdict = resolve));
  }

  /** The queue failed before the ticket's turn: its writer learns the write did not happen. */
  fail(cause: Error): void {
    this.lost(cause);
    if (this.state === TicketState.Admitted) this.write.session.send(updateError(this.write));
    this.failed = true;
    this.state = TicketState.Gone;
  }

  /** The record was deleted: the write is dropped without a reply, as queued writes are (RECORDS §8). */
  drop(): void {
    this.reached(null);
    this.state = TicketState.Gone;
  }

  private settle(state: TicketState.Admitted | TicketState.Released): void {
    if (this.state === TicketState.Gone) {
      if (state === TicketState.Admitted && this.failed) this.write.session.send(updateError(this.write));
      return;
    }
    if (this.state !== TicketState.Waiting) return;
    this.state = state;
    this.verdict?.(state === TicketState.Admitted);
  }
}

/** The write as the client sent it, for INVALID_VERSION replies. */
function echo(write: Write): Message {
  const { topic, name, version, path, data, correlationId, isWriteAck } = write.request;
  const reply: Message = { topic, action: write.request.action, name, version };
  if (path !== undefined) reply.path = path;
  if (data !== undefined) reply.data = data;
  if (correlationId !== undefined) reply.correlationId = correlationId;
  if (isWriteAck !== undefined) reply.isWriteAck = isWriteAck;
  return reply;
}

function updateError(write: Write): Message {
  const reply: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.RECORD_UPDATE_ERROR, name: write.name, isError: true };
  if (write.writeAck) {
    reply.isWriteAck = true;
    reply.correlationId = write.correlationId;
  }
  return reply;
}

/** What other subscribers receive: UPDATE or PATCH with the applied version, no ack fields. */
function broadcastOf(write: Write, version: number): Message {
  const message: Message = { topic: TOPIC.RECORD, action: write.action, name: write.name, version, isWriteAck: false };
  if (write.path !== undefined) message.path = write.path.text;
  if (write.dataText !== undefined && write.value !== undefined) message.data = write.dataText;
  return message;
}
