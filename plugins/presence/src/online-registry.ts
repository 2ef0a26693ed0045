import { ConnectionCounter } from './connection-counter.ts';

/** Told when a user comes online (`true`) or goes offline (`false`). */
export type PresenceListener = (user: string, online: boolean) => void;

/**
 * Who is online. Presence reports each local connection of a user here and is told back when the
 * user's online state changes. Kept behind this interface so that a cluster-wide registry can
 * replace the single-node one: it would publish the local 0 → 1 and 1 → 0 transitions to the other
 * nodes and call the listeners when the cluster-wide state flips (EVENTS_RPC_PRESENCE §3.1).
 */
export interface OnlineRegistry {
  /** A local connection of `user` logged in. */
  connected(user: string): void;
  /** A local connection of `user` is gone. */
  disconnected(user: string): void;
  isOnline(user: string): boolean;
  users(): Iterable<string>;
  /** Number of users online. */
  readonly size: number;
  onChange(listener: PresenceListener): void;
  /**
   * Calls `answer` once this registry reflects every login and disconnect that any node had
   * handled before the call (read-your-writes for queries); calls keep their order.
   */
  whenCurrent(answer: () => void): void;
}

/** The single-node registry: a user is online while this node holds one of their connections. */
export class LocalOnlineRegistry implements OnlineRegistry {
  private readonly counter = new ConnectionCounter();
  private readonly listeners: PresenceListener[] = [];

  get size(): number {
    return this.counter.size;
  }

  connected(user: string): void {
    if (this.counter.add(user)) this.notify(user, true);
  }

  disconnected(user: string): void {
    if (this.counter.remove(user)) this.notify(user, false);
  }

  isOnline(user: string): boolean {
    return this.counter.has(user);
  }

  users(): Iterable<string> {
    return this.counter.users();
  }

  onChange(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  whenCurrent(answer: () => void): void {
    answer();
  }

  private notify(user: string, online: boolean): void {
    for (const listener of this.listeners) listener(user, online);
  }
}
