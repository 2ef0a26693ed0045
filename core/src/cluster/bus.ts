import type { Message } from '../protocol/messages.ts';
import { BusListeners, type ListenerError } from './listeners.ts';

export type ClusterHandler = (message: Message, fromServer: string) => void;
export type MembershipHandler = (change: 'join' | 'leave', serverName: string) => void;

/**
 * The message bus between cluster nodes (PROTOCOL §10). Feature plugins publish what other nodes
 * must see; a cluster connector (e.g. Redis) only moves messages and hands received ones back.
 * The kernel's default is a bus with no other nodes, so a single server pays nothing for it.
 */
export interface ClusterBus {
  /** This node's unique name in the cluster. */
  readonly serverName: string;
  /** Broadcast to every other node. The message must not be mutated afterwards. */
  send(channel: string, message: Message): void;
  /** Send to one node. */
  sendDirect(serverName: string, channel: string, message: Message): void;
  /** Receive what other nodes send on a channel; returns an unsubscribe function. */
  subscribe(channel: string, handler: ClusterHandler): () => void;
  /** The other nodes currently alive. */
  readonly peers: ReadonlySet<string>;
  /** Told when a node joins or leaves (cleanly, or by missing its heartbeats). */
  onMembership(handler: MembershipHandler): () => void;
  close(): Promise<void>;
}

/**
 * Nodes in one process joined by a shared hub: the single-node default (a hub of one) and a
 * zero-infrastructure cluster for tests and for several servers in one process.
 */
export class InProcessHub {
  private readonly nodes = new Map<string, InProcessBus>();

  join(serverName: string, onError: ListenerError): InProcessBus {
    const bus = new InProcessBus(serverName, this, onError);
    for (const other of this.nodes.values()) {
      other.membershipChanged('join', serverName);
      bus.membershipChanged('join', other.serverName);
    }
    this.nodes.set(serverName, bus);
    return bus;
  }

  /** @internal */
  leave(serverName: string): void {
    if (!this.nodes.delete(serverName)) return;
    for (const other of this.nodes.values()) other.membershipChanged('leave', serverName);
  }

  /** @internal */
  deliver(from: string, to: string | undefined, channel: string, message: Message): void {
    if (this.nodes.size < 2) return;
    for (const [name, bus] of this.nodes) {
      if (name !== from && (to === undefined || to === name)) bus.receive(channel, message, from);
    }
  }
}

export class InProcessBus implements ClusterBus {
  private readonly listeners: BusListeners;
  readonly peers = new Set<string>();

  constructor(
    readonly serverName: string,
    private readonly hub: InProcessHub,
    onError: ListenerError,
  ) {
    this.listeners = new BusListeners(onError);
  }

  send(channel: string, message: Message): void {
    this.hub.deliver(this.serverName, undefined, channel, message);
  }

  sendDirect(serverName: string, channel: string, message: Message): void {
    this.hub.deliver(this.serverName, serverName, channel, message);
  }

  subscribe(channel: string, handler: ClusterHandler): () => void {
    return this.listeners.subscribe(channel, handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    return this.listeners.onMembership(handler);
  }

  /** @internal */
  membershipChanged(change: 'join' | 'leave', serverName: string): void {
    if (change === 'join') this.peers.add(serverName);
    else this.peers.delete(serverName);
    this.listeners.membershipChanged(change, serverName);
  }

  /** @internal */
  receive(channel: string, message: Message, from: string): void {
    // Delivered on a later tick, as a network bus would: no re-entrancy into the sender's call.
    if (this.listeners.listening(channel)) queueMicrotask(() => this.listeners.deliver(channel, message, from));
  }

  async close(): Promise<void> {
    this.hub.leave(this.serverName);
    this.listeners.clear();
  }
}
