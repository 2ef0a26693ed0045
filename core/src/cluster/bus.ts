import type { Message } from '../protocol/messages.ts';

export type ClusterHandler = (message: Message, fromServer: string) => void;
export type MembershipHandler = (change: 'join' | 'leave', serverName: string) => void;

/**
 * The message bus between cluster nodes (PROTOCOL §10), the `cluster` service. Feature plugins
 * publish what other nodes must see; the kernel's ClusterNode implements it over a cluster
 * connector's transport, which only moves bytes. With no connector the node is alone and pays
 * nothing for it.
 */
export interface ClusterBus {
  /** This node's unique name in the cluster. */
  readonly serverName: string;
  /** Broadcast to every other node. The message must not be mutated afterwards. */
  send(channel: string, message: Message): void;
  /**
   * To the nodes interested in `key` of `channel` (PROTOCOL §10, "interest"): an event by its name,
   * a record update by the record's. Receivers get it on `subscribe(channel)` like a broadcast.
   */
  sendKeyed(channel: string, key: string, message: Message): void;
  /**
   * This node wants what is sent keyed to these keys of `channel`, one reference per key until
   * `dropInterest`. The promise settles once other nodes' keyed sends reach this node: what a
   * subscription's acknowledgement waits for. Undefined when there is nothing to wait for (the keys
   * were registered already, the transport has no keyed delivery, or the node is alone).
   */
  interest(channel: string, keys: string | readonly string[]): Promise<void> | undefined;
  /** What `interest` returned for keys still being registered, without taking a reference. */
  interested(channel: string, keys: string | readonly string[]): Promise<void> | undefined;
  dropInterest(channel: string, keys: string | readonly string[]): void;
  /**
   * Every keyed message of `channel`, whatever its key (MQTT wildcard subscriptions), until `dropAll`.
   * Settles once the current peers know; nodes joining later may send a few frames before they do.
   */
  wantAll(channel: string): Promise<void> | undefined;
  dropAll(channel: string): void;
  /** Send to one node. */
  sendDirect(serverName: string, channel: string, message: Message): void;
  /**
   * Resolves once every peer has received what this node sent before the call, and this node what
   * each peer sent before answering: read-your-writes across nodes, for one bus round trip. At once
   * with no peers.
   */
  barrier(): Promise<void>;
  /** Receive what other nodes send on a channel; returns an unsubscribe function. */
  subscribe(channel: string, handler: ClusterHandler): () => void;
  /** The other nodes currently alive. */
  readonly peers: ReadonlySet<string>;
  /** Told when a node joins or leaves (cleanly, or by missing its heartbeats). */
  onMembership(handler: MembershipHandler): () => void;
  close(): Promise<void>;
}
