import type { Message } from '../protocol/messages.ts';
import type { ClusterHandler, MembershipHandler } from './bus.ts';

/** Told about a handler that threw; the other handlers still run. */
export type ListenerError = (error: unknown, channel: string, from: string) => void;

/** Who listens on the cluster node: handlers per channel, and membership handlers. */
export class BusListeners {
  private readonly byChannel = new Map<string, Set<ClusterHandler>>();
  private readonly membership = new Set<MembershipHandler>();

  constructor(private readonly onError: ListenerError) {}

  subscribe(channel: string, handler: ClusterHandler): () => void {
    let set = this.byChannel.get(channel);
    if (set === undefined) this.byChannel.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    this.membership.add(handler);
    return () => this.membership.delete(handler);
  }

  /** Someone listens on `channel`: worth decoding a message for it. */
  listening(channel: string): boolean {
    return (this.byChannel.get(channel)?.size ?? 0) > 0;
  }

  deliver(channel: string, message: Message, from: string): void {
    const handlers = this.byChannel.get(channel);
    if (handlers === undefined) return;
    for (const handler of handlers) {
      try {
        handler(message, from);
      } catch (error) {
        this.onError(error, channel, from);
      }
    }
  }

  membershipChanged(change: 'join' | 'leave', serverName: string): void {
    for (const handler of this.membership) {
      try {
        handler(change, serverName);
      } catch (error) {
        this.onError(error, `membership:${change}`, serverName);
      }
    }
  }

  clear(): void {
    this.byChannel.clear();
    this.membership.clear();
  }
}
