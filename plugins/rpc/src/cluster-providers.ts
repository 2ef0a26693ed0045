import { RPC_ACTION, ReplicatedSet, type ClusterBus, type Message } from '@deepstream-ts/core';
import { NodePeer, RPC_CHANNEL } from './node-peer.ts';
import type { Peer } from './rpc.ts';

/** What the calls need to hear from the other nodes. */
export interface ClusterCallHandlers {
  /** A REQUEST another node forwards here, for one of this node's providers. */
  forwarded(from: NodePeer, message: Message): void;
  /** What a node that has one of our calls relays back: ACCEPT, RESPONSE, a timeout, NO_RPC_PROVIDER… */
  relayed(from: NodePeer, message: Message): void;
  /** The node is gone, with every call it had and every call it made. */
  nodeLeft(node: NodePeer): void;
}

/**
 * RPC providers across the cluster: this node publishes the names its sessions provide in a
 * replicated set and reads there which other nodes provide a name. Calls with no local provider
 * go to one of those nodes, rotating, and never back to one that already declined.
 */
export class ClusterProviders {
  private readonly provided: ReplicatedSet;
  private readonly peers = new Map<string, NodePeer>();
  private cursor = 0;

  constructor(private readonly bus: ClusterBus) {
    this.provided = new ReplicatedSet(bus, 'rpc/providers');
  }

  /** Called when `name` gains its first local provider (`true`) or loses its last. */
  localProviderChange(name: string, provided: boolean): void {
    if (provided) this.provided.add(name);
    else this.provided.delete(name);
  }

  /** A node providing `name` that is not in `tried`, or undefined. */
  pick(name: string, tried: readonly Peer[]): NodePeer | undefined {
    const holders = this.provided.remoteHolders(name);
    if (holders.size === 0) return undefined;
    const nodes = [...holders];
    const start = this.cursor++ % nodes.length;
    for (let i = 0; i < nodes.length; i++) {
      const peer = this.peer(nodes[(start + i) % nodes.length]!);
      if (!tried.includes(peer)) return peer;
    }
    return undefined;
  }

  attach(handlers: ClusterCallHandlers): () => void {
    const detach = [
      this.bus.subscribe(RPC_CHANNEL, (message, from) => {
        if (message.action === RPC_ACTION.REQUEST) handlers.forwarded(this.peer(from), message);
        else handlers.relayed(this.peer(from), message);
      }),
      this.bus.onMembership((change, node) => {
        const peer = this.peers.get(node);
        if (change === 'join' || peer === undefined) return;
        this.peers.delete(node);
        handlers.nodeLeft(peer);
      }),
    ];
    return () => {
      for (const undo of detach) undo();
      this.provided.close();
    };
  }

  private peer(node: string): NodePeer {
    let peer = this.peers.get(node);
    if (peer === undefined) this.peers.set(node, (peer = new NodePeer(node, this.bus)));
    return peer;
  }
}
