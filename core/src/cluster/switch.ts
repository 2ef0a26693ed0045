import type { Message } from '../protocol/messages.ts';
import type { ClusterBus, ClusterHandler, MembershipHandler } from './bus.ts';
import { BusListeners, type ListenerError } from './listeners.ts';

/**
 * The `cluster` service plugins hold on to. It forwards to the in-process bus until a cluster
 * transport plugin is configured, then — at boot, before any client connects — to the real
 * cluster node, carrying every subscription over. Plugins never notice the switch.
 */
export class ClusterBusSwitch implements ClusterBus {
  private readonly listeners: BusListeners;
  private detach: Array<() => void> = [];

  constructor(
    private backend: ClusterBus,
    onError: ListenerError,
  ) {
    this.listeners = new BusListeners(onError);
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
    if (!this.listeners.hasChannel(channel)) this.forward(channel);
    return this.listeners.subscribe(channel, handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    return this.listeners.onMembership(handler);
  }

  close(): Promise<void> {
    for (const undo of this.detach.splice(0)) undo();
    return this.backend.close();
  }

  private attach(): void {
    for (const channel of this.listeners.channels()) this.forward(channel);
    this.detach.push(this.backend.onMembership((change, name) => this.listeners.membershipChanged(change, name)));
  }

  /** One backend subscription per channel, whatever the number of plugins listening on it. */
  private forward(channel: string): void {
    this.detach.push(this.backend.subscribe(channel, (message, from) => this.listeners.deliver(channel, message, from)));
  }
}
