import type { Message } from '../protocol/messages.ts';

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

  join(serverName: string, onError: (error: unknown) => void): InProcessBus {
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
  private readonly handlers = new Map<string, Set<ClusterHandler>>();
  private readonly membership = new Set<MembershipHandler>();
  readonly peers = new Set<string>();

  constructor(
    readonly serverName: string,
    private readonly hub: InProcessHub,
    private readonly onError: (error: unknown) => void,
  ) {}

  send(channel: string, message: Message): void {
    this.hub.deliver(this.serverName, undefined, channel, message);
  }

  sendDirect(serverName: string, channel: string, message: Message): void {
    this.hub.deliver(this.serverName, serverName, channel, message);
  }

  subscribe(channel: string, handler: ClusterHandler): () => void {
    let set = this.handlers.get(channel);
    if (set === undefined) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    this.membership.add(handler);
    return () => this.membership.delete(handler);
  }

  /** @internal */
  membershipChanged(change: 'join' | 'leave', serverName: string): void {
    if (change === 'join') this.peers.add(serverName);
    else this.peers.delete(serverName);
    for (const handler of this.membership) handler(change, serverName);
  }

  /** @internal */
  receive(channel: string, message: Message, from: string): void {
    // Delivered on a later tick, as a network bus would: no re-entrancy into the sender's call.
    const handlers = this.handlers.get(channel);
    if (handlers === undefined || handlers.size === 0) return;
    queueMicrotask(() => {
      for (const handler of handlers) {
        try {
          handler(message, from);
        } catch (error) {
          this.onError(error);
        }
      }
    });
  }

  async close(): Promise<void> {
    this.hub.leave(this.serverName);
    this.handlers.clear();
    this.membership.clear();
  }
}
