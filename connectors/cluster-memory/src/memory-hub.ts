import type { ClusterTransport } from '@deepstream-ts/core';

type Receive = (bytes: Uint8Array) => void;

let anonymous = 0;
const namedHubs = new Map<string, MemoryHub>();

/**
 * The medium of one in-process cluster: every transport started on a hub reaches the others on
 * it, and nothing else. Frames are handed over as they are (no copy: the node never reuses a
 * frame it published) on a microtask, as a network would hand them over on a later tick, so a
 * sender is never re-entered from its own publish. One sender's frames arrive in the order sent.
 */
export class MemoryHub {
  private readonly members = new Map<string, Receive>();
  /** Per key, the nodes subscribed to it (interest-based traffic). */
  private readonly keyed = new Map<string, Set<string>>();

  constructor(readonly name = `hub-${++anonymous}`) {}

  /** The hub of that name in this process, made on first use: what a config file can name. */
  static named(name: string): MemoryHub {
    let hub = namedHubs.get(name);
    if (hub === undefined) namedHubs.set(name, (hub = new MemoryHub(name)));
    return hub;
  }

  /** A transport for one node of this hub. */
  transport(): MemoryTransport {
    return new MemoryTransport(this);
  }

  /** The nodes started on this hub and not closed. */
  get nodes(): string[] {
    return [...this.members.keys()];
  }

  /** @internal */
  join(serverName: string, receive: Receive): void {
    if (this.members.has(serverName)) throw new Error(`a node named "${serverName}" is already on memory hub "${this.name}"`);
    this.members.set(serverName, receive);
  }

  /** @internal */
  leave(serverName: string, receive: Receive): void {
    if (this.members.get(serverName) !== receive) return;
    this.members.delete(serverName);
    for (const [key, nodes] of this.keyed) if (nodes.delete(serverName) && nodes.size === 0) this.keyed.delete(key);
  }

  /** @internal Takes effect at once: a publishKey made after this call reaches the node. */
  subscribe(serverName: string, keys: readonly string[]): void {
    for (const key of keys) {
      let nodes = this.keyed.get(key);
      if (nodes === undefined) this.keyed.set(key, (nodes = new Set()));
      nodes.add(serverName);
    }
  }

  /** @internal */
  unsubscribe(serverName: string, keys: readonly string[]): void {
    for (const key of keys) {
      const nodes = this.keyed.get(key);
      if (nodes?.delete(serverName) && nodes.size === 0) this.keyed.delete(key);
    }
  }

  /** The keys a node is subscribed to (for tests). */
  keysOf(serverName: string): string[] {
    const keys: string[] = [];
    for (const [key, nodes] of this.keyed) if (nodes.has(serverName)) keys.push(key);
    return keys;
  }

  /** @internal To the nodes subscribed to `key` but the sender, as subscribed at delivery; in order with broadcasts. */
  publishKey(from: string, key: string, bytes: Uint8Array): void {
    if (!this.keyed.has(key)) return;
    queueMicrotask(() => {
      const nodes = this.keyed.get(key);
      if (nodes === undefined) return;
      for (const name of nodes) if (name !== from) this.members.get(name)?.(bytes);
    });
  }

  /** @internal To every node but the sender; who is on the hub is decided at delivery. */
  broadcast(from: string, bytes: Uint8Array): void {
    if (this.members.size < 2) return;
    queueMicrotask(() => {
      for (const [name, receive] of this.members) if (name !== from) receive(bytes);
    });
  }

  /** @internal */
  direct(to: string, bytes: Uint8Array): void {
    queueMicrotask(() => {
      this.members.get(to)?.(bytes);
    });
  }
}

/** One node's end of a MemoryHub. */
export class MemoryTransport implements ClusterTransport {
  readonly description: string;
  private serverName: string | undefined;
  private receive: Receive | undefined;

  constructor(private readonly hub: MemoryHub) {
    this.description = `memory:${hub.name}`;
  }

  async start(serverName: string, receive: Receive): Promise<void> {
    this.hub.join(serverName, receive);
    this.serverName = serverName;
    this.receive = receive;
  }

  publish(bytes: Uint8Array): void {
    if (this.serverName !== undefined) this.hub.broadcast(this.serverName, bytes);
  }

  publishTo(serverName: string, bytes: Uint8Array): void {
    if (this.serverName !== undefined) this.hub.direct(serverName, bytes);
  }

  async subscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.serverName !== undefined) this.hub.subscribe(this.serverName, keys);
  }

  async unsubscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.serverName !== undefined) this.hub.unsubscribe(this.serverName, keys);
  }

  publishKey(key: string, bytes: Uint8Array): void {
    if (this.serverName !== undefined) this.hub.publishKey(this.serverName, key, bytes);
  }

  async close(): Promise<void> {
    if (this.serverName === undefined || this.receive === undefined) return;
    this.hub.leave(this.serverName, this.receive);
    this.serverName = undefined;
    this.receive = undefined;
  }
}
