import type { ClusterBus, Message } from '@deepstream-ts/core';
import type { Peer } from './rpc.ts';

/** The bus channel RPC traffic between nodes travels on. */
export const RPC_CHANNEL = 'rpc';

/**
 * Another cluster node, seen from a call: the provider of a call this node forwarded to it, or
 * the requester of a call it forwarded here. Either way, a message to it goes straight to that
 * node, which relays it to its own session (EVENTS_RPC_PRESENCE §5).
 */
export class NodePeer implements Peer {
  constructor(
    readonly node: string,
    private readonly bus: ClusterBus,
  ) {}

  send(message: Message): void {
    this.bus.sendDirect(this.node, RPC_CHANNEL, message);
  }
}
