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
    if (this.members.get(serverName) === receive) this.members.delete(serverName);
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

  async close(): Promise<void> {
    if (this.serverName === undefined || this.receive === undefined) return;
    this.hub.leave(this.serverName, this.receive);
    this.serverName = undefined;
    this.receive = undefined;
  }
}
