import type { Session } from '@deepstream-ts/core';

const noop = (): void => undefined;

/**
 * Keeps each session's requests in arrival order when some of them wait (an asynchronous
 * permission plugin): a request arriving while an earlier one is pending runs after it, so a
 * quick subscribe-then-unsubscribe cannot end up subscribed. With nothing pending a request runs
 * at once, so the synchronous path costs one map lookup.
 */
export class SessionOrder {
  private readonly tails = new Map<Session, Promise<void>>();

  /** Sessions with a request still waiting. */
  get pending(): number {
    return this.tails.size;
  }

  /** Runs `task` now or after the session's pending requests; a rejection is returned, not swallowed. */
  run(session: Session, task: () => void | Promise<void>): void | Promise<void> {
    const tail = this.tails.get(session);
    const result = tail === undefined ? task() : tail.then(task);
    if (!(result instanceof Promise)) return;
    const settled = result.then(noop, noop); // the chain goes on whatever happened to this request
    this.tails.set(session, settled);
    void settled.then(() => {
      if (this.tails.get(session) === settled) this.tails.delete(session);
    });
    return result;
  }
}
