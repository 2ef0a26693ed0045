/**
 * Open connections per user. Presence only reports the transitions: a user's first connection
 * (0 → 1) and last (1 → 0); connections in between change nothing anyone can see
 * (EVENTS_RPC_PRESENCE §3.2).
 */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  /** Number of distinct users with at least one connection. */
  get size(): number {
    return this.counts.size;
  }

  /** @returns true when this is the user's first connection. */
  add(user: string): boolean {
    const count = this.counts.get(user) ?? 0;
    this.counts.set(user, count + 1);
    return count === 0;
  }

  /** @returns true when this was the user's last connection; a user with none is ignored. */
  remove(user: string): boolean {
    const count = this.counts.get(user);
    if (count === undefined) return false;
    if (count > 1) {
      this.counts.set(user, count - 1);
      return false;
    }
    this.counts.delete(user);
    return true;
  }

  has(user: string): boolean {
    return this.counts.has(user);
  }

  users(): IterableIterator<string> {
    return this.counts.keys();
  }
}
