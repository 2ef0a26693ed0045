import type { ClusterBus, Message, PluginContext, Session } from '@deepstream-ts/core';
import type { ProviderRegistry } from './providers.ts';
import { ack, invalidMessageData, multipleProviders, refusedName } from './replies.ts';
import { nameTooLong, type RpcOptions } from './options.ts';

/** PROVIDE and UNPROVIDE (EVENTS_RPC_PRESENCE §2.1): who may answer which calls. */
export class Provisions {
  private readonly cluster: ClusterBus;

  constructor(
    private readonly ctx: PluginContext<RpcOptions>,
    private readonly providers: ProviderRegistry,
  ) {
    this.cluster = ctx.use('cluster');
  }

  /** `denied`: names the router denied (and answered) before. */
  provide(session: Session, message: Message, denied: number): void {
    const request = this.withValidNames(session, message);
    this.register(session, message, request.names ?? [], denied);
  }

  unprovide(session: Session, message: Message): void {
    // No permission check; names not provided are skipped silently.
    for (const name of message.names ?? []) this.providers.remove(name, session);
    this.acknowledge(session, message);
  }

  private register(session: Session, message: Message, names: readonly string[], denied: number): void {
    // Closed during an asynchronous permission check: the disconnect cleanup has already run.
    if (session.isClosed) return;
    for (const name of names) {
      if (!this.providers.add(name, session)) session.send(multipleProviders(name));
    }
    // No name left (all denied or invalid): no ack; the client cleared its timer on the errors.
    if (names.length === 0 && (denied > 0 || (message.names?.length ?? 0) > 0)) return;
    this.acknowledge(session, message);
  }

  /**
   * In a cluster, acknowledged once every node has the change: after the ack, a call made on any
   * node finds (or no longer finds) this provider. Acks stay in order: barriers complete in order.
   */
  private acknowledge(session: Session, message: Message): void {
    if (this.cluster.peers.size === 0) return session.send(ack(message));
    void this.cluster.barrier().then(() => {
      if (!session.isClosed) session.send(ack(message));
    });
  }

  /**
   * Empty names cannot be provided (the client never sends them), nor names over `maxNameLength`:
   * INVALID_MESSAGE_DATA each (naming the limit), and they are never stored.
   */
  private withValidNames(session: Session, message: Message): Message {
    const names = message.names ?? [];
    const max = this.ctx.options.maxNameLength;
    if (!names.some((name) => name === '' || name.length > max)) return message;
    const kept: string[] = [];
    for (const name of names) {
      const tooLong = nameTooLong(name, this.ctx.options);
      if (name === '') {
        session.warn('PROVIDE with an empty RPC name');
        session.send(invalidMessageData({ ...message, name: '' }));
      } else if (tooLong !== undefined) {
        session.warn(`PROVIDE refused: ${tooLong}`, { name: name.slice(0, 100) });
        session.send(refusedName(message, name, tooLong));
      } else kept.push(name);
    }
    return { ...message, names: kept };
  }
}
