import { ReplicatedSet, type ClusterBus } from '@deepstream-ts/core';
import { ConnectionCounter } from './connection-counter.ts';
import type { OnlineRegistry, PresenceListener } from './online-registry.ts';

/**
 * Who is online across the cluster. Each node counts its own connections and holds a user in a
 * replicated set while it has at least one of theirs, so join/leave fire on the cluster-wide
 * first and last connection only, and a node that leaves (or misses its heartbeats) takes its
 * users with it (EVENTS_RPC_PRESENCE §3.1). Queries read every login answered anywhere (EVENTS_RPC_PRESENCE §3.6).
 */
export class ClusterOnlineRegistry implements OnlineRegistry {
  private readonly local = new ConnectionCounter();
  private readonly online: ReplicatedSet;
  /** The answers waiting for the bus barrier of the current turn. */
  private batch: { barrier: Promise<void>; answers: Array<() => void> } | undefined;
  /** The last batch's answering, so that a later batch never answers before an earlier one. */
  private last: Promise<void> | undefined;
  private waiting = 0;

  constructor(
    private readonly bus: ClusterBus,
    /** Told when an answer threw; the answers after it still run. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.online = new ReplicatedSet(bus, 'presence/online-users');
  }

  get size(): number {
    return this.online.size;
  }

  connected(user: string): void {
    if (this.local.add(user)) this.online.add(user);
  }

  disconnected(user: string): void {
    if (this.local.remove(user)) this.online.delete(user);
  }

  isOnline(user: string): boolean {
    return this.online.has(user);
  }

  users(): Iterable<string> {
    return this.online.names();
  }

  /**
   * With peers, after a bus barrier (PROTOCOL §10): each peer adds or removes a user in the same
   * turn as it answers the login or sees the close, and flushes that before answering the ping, so
   * once the barrier resolves every such change is here. The calls of one turn share one barrier
   * (the bus hands them the same promise); alone, `answer` runs at once.
   */
  whenCurrent(answer: () => void): void {
    if (this.waiting === 0 && this.bus.peers.size === 0) return answer();
    const barrier = this.bus.barrier();
    if (this.batch?.barrier === barrier) {
      this.batch.answers.push(answer);
      return;
    }
    const batch = { barrier, answers: [answer] };
    this.batch = batch;
    this.waiting++;
    const ready = this.last === undefined ? barrier : Promise.all([this.last, barrier]);
    this.last = ready.then(() => {
      if (this.batch === batch) this.batch = undefined;
      if (--this.waiting === 0) this.last = undefined;
      for (const each of batch.answers) {
        try {
          each();
        } catch (error) {
          this.onError(error);
        }
      }
    });
  }

  onChange(listener: PresenceListener): void {
    this.online.watch({ added: (user) => listener(user, true), removed: (user) => listener(user, false) });
  }

  close(): void {
    this.online.close();
  }
}
