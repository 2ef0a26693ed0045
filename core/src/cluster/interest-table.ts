import type { Logger } from 'pino';
import type { ClusterTransport } from './node.ts';

/** How long a key nobody holds any more stays subscribed (a name unsubscribed and resubscribed costs no round trip). */
export const INTEREST_LINGER = 2000;
/** Between attempts when the transport refused a subscription. */
const SUBSCRIBE_RETRY = 1000;

/** One key this node is interested in. */
interface Interest {
  /** Local holders; at 0 the key lingers, still subscribed, until the next sweep. */
  refs: number;
  /** Until the transport confirmed the subscription: what a subscription's ack waits for. */
  pending: Promise<void> | undefined;
}

/** The keys of one turn, subscribed in one transport call. */
interface SubscribeBatch {
  keys: string[];
  promise: Promise<void>;
  resolve(): void;
}

/**
 * The keys a node wants keyed frames of (PROTOCOL §10, "interest"), by transport key
 * (`channel:key`), reference-counted: the keys taken in one event-loop turn are subscribed in one
 * transport call, retried while the transport refuses; a key nobody holds lingers subscribed for
 * `linger` ms and is then unsubscribed with the other idle keys in one call.
 */
export class InterestTable {
  private readonly interests = new Map<string, Interest>();
  /** Keys nobody holds any more, unsubscribed at the next sweep. */
  private readonly idle = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The keys of this turn, still to be subscribed. */
  private batch: SubscribeBatch | undefined;

  constructor(
    /** The node's transport now: it changes at start and close. */
    private readonly transport: () => ClusterTransport,
    private readonly linger: number,
    private readonly log: Logger,
  ) {}

  has(key: string): boolean {
    return this.interests.has(key);
  }

  /** Takes a reference; returns the subscription still being registered, if any. */
  add(key: string): Promise<void> | undefined {
    const known = this.interests.get(key);
    if (known !== undefined) {
      if (known.refs++ === 0) this.idle.delete(key);
      return known.pending;
    }
    const interest: Interest = { refs: 1, pending: undefined };
    this.interests.set(key, interest);
    if (this.transport().subscribeKeys !== undefined) interest.pending = this.subscribeSoon(key);
    return interest.pending;
  }

  /** The subscription of `key` still being registered, if any; takes no reference. */
  pending(key: string): Promise<void> | undefined {
    return this.interests.get(key)?.pending;
  }

  /** `add` (or `pending`) for many keys: what is still pending, as one promise. */
  each(keys: Iterable<string>, add: boolean): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    let several: Set<Promise<void>> | undefined;
    for (const key of keys) {
      const one = add ? this.add(key) : this.pending(key);
      if (one === undefined || one === pending) continue;
      if (pending === undefined) pending = one;
      else (several ??= new Set([pending])).add(one);
    }
    return several === undefined ? pending : Promise.all(several).then(() => undefined);
  }

  /** Gives back a reference; a key nobody holds is unsubscribed after the linger. */
  release(key: string): void {
    const interest = this.interests.get(key);
    if (interest === undefined || interest.refs === 0) return;
    if (--interest.refs > 0) return;
    this.idle.add(key);
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setTimeout(this.sweep, this.linger);
      this.sweepTimer.unref();
    }
  }

  /** Forgets everything (the node closed): waiters are released. */
  clear(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.interests.clear();
    this.idle.clear();
    const batch = this.batch;
    this.batch = undefined;
    batch?.resolve();
  }

  /** Unsubscribes the keys nobody took back since they were dropped (they lingered up to `linger`). */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const gone: string[] = [];
    for (const key of this.idle) {
      const interest = this.interests.get(key);
      if (interest !== undefined && interest.refs > 0) continue;
      if (interest?.pending !== undefined) continue; // unsubscribed once its subscription is done
      this.idle.delete(key);
      this.interests.delete(key);
      gone.push(key);
    }
    if (this.idle.size > 0) {
      this.sweepTimer = setTimeout(this.sweep, this.linger);
      this.sweepTimer.unref();
    }
    const transport = this.transport();
    if (gone.length === 0 || transport.unsubscribeKeys === undefined) return;
    transport.unsubscribeKeys(gone).catch((error: unknown) => this.log.warn({ err: error, keys: gone.length }, 'could not unsubscribe cluster keys'));
  };

  private subscribeSoon(key: string): Promise<void> {
    let batch = this.batch;
    if (batch === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      const made: SubscribeBatch = { keys: [], promise, resolve };
      this.batch = batch = made;
      setImmediate(() => this.subscribeBatch(made));
    }
    batch.keys.push(key);
    return batch.promise;
  }

  /** One transport call for a turn's keys; retried while the transport refuses, until they are no longer wanted. */
  private subscribeBatch(batch: SubscribeBatch): void {
    if (this.batch === batch) this.batch = undefined;
    const keys = batch.keys.filter((key) => this.interests.get(key)?.pending === batch.promise);
    const transport = this.transport();
    if (keys.length === 0 || transport.subscribeKeys === undefined) return this.settle(batch, keys);
    transport.subscribeKeys(keys).then(
      () => this.settle(batch, keys),
      (error: unknown) => {
        if (this.transport() !== transport) return this.settle(batch, keys);
        this.log.error({ err: error, keys: keys.length }, 'could not subscribe to cluster keys; retrying');
        batch.keys = keys;
        setTimeout(() => this.subscribeBatch(batch), SUBSCRIBE_RETRY).unref();
      },
    );
  }

  private settle(batch: SubscribeBatch, keys: readonly string[]): void {
    for (const key of keys) {
      const interest = this.interests.get(key);
      if (interest?.pending === batch.promise) interest.pending = undefined;
    }
    batch.resolve();
  }
}
