import { ReplicatedSet, type ClusterBus } from '@deepstream-ts/core';
import { ConnectionCounter } from './connection-counter.ts';
import type { OnlineRegistry, PresenceListener } from './online-registry.ts';

/**
 * Who is online across the cluster. Each node counts its own connections and holds a user in a
 * replicated set while it has at least one of theirs, so join/leave fire on the cluster-wide
 * first and last connection only, and a node that leaves (or misses its heartbeats) takes its
 * users with it (EVENTS_RPC_PRESENCE §3.1).
 */
export class ClusterOnlineRegistry implements OnlineRegistry {
  private readonly local = new ConnectionCounter();
  private readonly online: ReplicatedSet;

  constructor(bus: ClusterBus) {
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

  onChange(listener: PresenceListener): void {
    this.online.watch({ added: (user) => listener(user, true), removed: (user) => listener(user, false) });
  }

  close(): void {
    this.online.close();
  }
}
