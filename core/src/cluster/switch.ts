import type { Message } from '../protocol/messages.ts';
import type { ClusterBus, ClusterHandler, MembershipHandler } from './bus.ts';

/**
 * The `cluster` service plugins hold on to. It forwards to the in-process bus until a cluster
 * transport plugin is configured, then — at boot, before any client connects — to the real
 * cluster node, carrying every subscription over. Plugins never notice the switch.
 */
export class ClusterBusSwitch implements ClusterBus {
  private readonly handlers = new Map<string, Set<ClusterHandler>>();
  private readonly membershipHandlers = new Set<MembershipHandler>();
  private detach: Array<() => void> = [];

  constructor(private backend: ClusterBus) {
    this.attach();
  }

  get serverName(): string {
    return this.backend.serverName;
  }

  get peers(): ReadonlySet<string> {
    return this.backend.peers;
  }

  /** Moves to another backend; the previous one is closed. */
  async use(backend: ClusterBus): Promise<void> {
    for (const undo of this.detach.splice(0)) undo();
    const previous = this.backend;
    this.backend = backend;
    this.attach();
    await previous.close();
  }

  send(channel: string, message: Message): void {
    this.backend.send(channel, message);
  }

  sendDirect(serverName: string, channel: string, message: Message): void {
    this.backend.sendDirect(serverName, channel, message);
  }

  subscribe(channel: string, handler: ClusterHandler): () => void {
    let set = this.handlers.get(channel);
    if (set === undefined) {
      this.handlers.set(channel, (set = new Set()));
      this.detach.push(this.backend.subscribe(channel, (message, from) => this.dispatch(channel, message, from)));
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    this.membershipHandlers.add(handler);
    return () => this.membershipHandlers.delete(handler);
  }

  close(): Promise<void> {
    for (const undo of this.detach.splice(0)) undo();
    return this.backend.close();
  }

  private attach(): void {
    for (const channel of this.handlers.keys()) {
      this.detach.push(this.backend.subscribe(channel, (message, from) => this.dispatch(channel, message, from)));
    }
    this.detach.push(this.backend.onMembership((change, name) => {
      for (const handler of this.membershipHandlers) handler(change, name);
    }));
  }

  private dispatch(channel: string, message: Message, from: string): void {
    const set = this.handlers.get(channel);
    if (set !== undefined) for (const handler of set) handler(message, from);
  }
}
