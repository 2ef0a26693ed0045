import { PRESENCE_ACTION, TOPIC, type ClusterBus } from '@deepstream-ts/core';
import { ConnectionCounter } from './connection-counter.ts';
import type { OnlineRegistry, PresenceListener } from './online-registry.ts';

const CHANNEL = 'presence';

/**
 * Who is online across the cluster. Each node counts its own connections and tells the others
 * when a user's first local connection opens or last one closes; a node that joins is sent the
 * full local list; a node that leaves (or misses its heartbeats) takes its users with it. A user
 * is online while any node holds one of their connections, so join/leave fire on the
 * cluster-wide first and last connection only.
 */
export class ClusterOnlineRegistry implements OnlineRegistry {
  private readonly local = new ConnectionCounter();
  /** Per user: the remote nodes holding at least one connection. */
  private readonly remote = new Map<string, Set<string>>();
  private readonly listeners: PresenceListener[] = [];
  private readonly detach: Array<() => void>;

  constructor(private readonly bus: ClusterBus) {
    this.detach = [
      bus.subscribe(CHANNEL, (message, from) => {
        if (message.action === PRESENCE_ACTION.PRESENCE_JOIN && message.name !== undefined) this.remoteJoin(from, message.name);
        else if (message.action === PRESENCE_ACTION.PRESENCE_LEAVE && message.name !== undefined) this.remoteLeave(from, message.name);
        else if (message.action === PRESENCE_ACTION.QUERY_ALL_RESPONSE) for (const user of message.names ?? []) this.remoteJoin(from, user);
      }),
      bus.onMembership((change, node) => {
        if (change === 'join') this.bus.sendDirect(node, CHANNEL, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names: [...this.local.users()] });
        else for (const user of [...this.remote.keys()]) this.remoteLeave(node, user);
      }),
    ];
  }

  get size(): number {
    let size = this.local.size;
    for (const user of this.remote.keys()) if (!this.local.has(user)) size++;
    return size;
  }

  connected(user: string): void {
    if (!this.local.add(user)) return;
    this.bus.send(CHANNEL, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.PRESENCE_JOIN, name: user });
    if (!this.remote.has(user)) this.notify(user, true);
  }

  disconnected(user: string): void {
    if (!this.local.remove(user)) return;
    this.bus.send(CHANNEL, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.PRESENCE_LEAVE, name: user });
    if (!this.remote.has(user)) this.notify(user, false);
  }

  isOnline(user: string): boolean {
    return this.local.has(user) || this.remote.has(user);
  }

  *users(): Iterable<string> {
    yield* this.local.users();
    for (const user of this.remote.keys()) if (!this.local.has(user)) yield user;
  }

  onChange(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    for (const undo of this.detach) undo();
  }

  private remoteJoin(node: string, user: string): void {
    let nodes = this.remote.get(user);
    const wasOnline = this.isOnline(user);
    if (nodes === undefined) this.remote.set(user, (nodes = new Set()));
    nodes.add(node);
    if (!wasOnline) this.notify(user, true);
  }

  private remoteLeave(node: string, user: string): void {
    const nodes = this.remote.get(user);
    if (nodes === undefined || !nodes.delete(node)) return;
    if (nodes.size > 0) return;
    this.remote.delete(user);
    if (!this.local.has(user)) this.notify(user, false);
  }

  private notify(user: string, online: boolean): void {
    for (const listener of this.listeners) listener(user, online);
  }
}
