import type { StoredRecord } from './records.ts';

/** A record's newest state, or `null` for a delete. */
export type PendingState = StoredRecord | null;

/** One batch handed over to be written; every caller of a write in it learns the outcome. */
export interface WriteBatch {
  readonly entries: ReadonlyMap<string, PendingState>;
  resolve(): void;
  reject(error: Error): void;
}

interface Entry {
  state: PendingState;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

/**
 * Writes waiting to be stored, coalesced per record, for connectors that batch: the latest state
 * of each record wins, so a burst to one record costs one row, and each caller's promise settles
 * with the batch that carried its write.
 */
export class PendingWrites {
  private entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /** The newest state not yet stored (read your own writes); `undefined` when none is pending. */
  latest(name: string): PendingState | undefined {
    return this.entries.get(name)?.state;
  }

  add(name: string, state: PendingState): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.entries.get(name);
      if (entry === undefined) this.entries.set(name, { state, waiters: [{ resolve, reject }] });
      else {
        entry.state = state;
        entry.waiters.push({ resolve, reject });
      }
    });
  }

  /** Hands over everything pending; writes added from now on form the next batch. */
  take(): WriteBatch {
    const taken = this.entries;
    this.entries = new Map();
    const states = new Map<string, PendingState>();
    for (const [name, { state }] of taken) states.set(name, state);
    const settle = (outcome: (waiter: Entry['waiters'][number]) => void) => {
      for (const { waiters } of taken.values()) for (const waiter of waiters) outcome(waiter);
    };
    return { entries: states, resolve: () => settle((w) => w.resolve()), reject: (error) => settle((w) => w.reject(error)) };
  }
}
