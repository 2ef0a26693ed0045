import {
  EVENT_ACTION,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type AuthorizationVerdict,
  type ClusterBus,
  type Message,
  type PluginContext,
  type Session,
  type TopicListenerHandler,
} from '@deepstream-ts/core';
import type { EventsOptions } from './index.ts';

const CLUSTER_CHANNEL = 'event';

/**
 * Owns the EVENT topic: who subscribes to what, and delivery of every emit to local subscribers
 * (never back to the sender) and to the other cluster nodes.
 */
export class EventsService {
  readonly topic = TOPIC.EVENT;
  /** Public so that the listening plugin can observe first/last subscribers. */
  readonly subscriptions = new SubscriptionRegistry();
  private cluster: ClusterBus | undefined;
  /** Set at boot when a listening plugin is configured. */
  listeners: TopicListenerHandler | undefined;

  constructor(private readonly ctx: PluginContext<EventsOptions>) {}

  /** Delivers emits from other nodes to local subscribers; returns the detach function. */
  attachCluster(cluster: ClusterBus): () => void {
    this.cluster = cluster;
    return cluster.subscribe(CLUSTER_CHANNEL, (message) => {
      if (message.name !== undefined) this.deliver(new SharedMessage(message), undefined);
    });
  }

  forget(session: Session): void {
    this.subscriptions.removeSession(session);
  }

  handle(session: Session, message: Message): void | Promise<void> {
    switch (message.action) {
      case EVENT_ACTION.EMIT:
        return this.emit(session, message);
      case EVENT_ACTION.SUBSCRIBE:
        return this.subscribe(session, message);
      case EVENT_ACTION.UNSUBSCRIBE:
        return this.unsubscribe(session, message);
      default:
        if (this.listeners?.handles(message.action)) return this.listeners.handle(session, message);
        // Unknown actions, and LISTEN without a listening plugin, are ignored (PROTOCOL §5.6).
        session.warn('unsupported event action ignored', { action: message.action, name: message.name });
    }
  }

  private emit(session: Session, message: Message): void | Promise<void> {
    const { name, data } = message;
    if (name === undefined || name === '') return this.rejectData(session, message, 'emit without an event name');
    if (data !== undefined && this.ctx.options.validatePayloads && !isJson(data)) {
      return this.rejectData(session, message, 'emit payload is not valid JSON');
    }
    const verdict = this.ctx.authorize(session, message, name);
    if (verdict instanceof Promise) return verdict.then((v) => this.publishIfAllowed(session, message, name, data, v));
    this.publishIfAllowed(session, message, name, data, verdict);
  }

  private publishIfAllowed(session: Session, message: Message, name: string, data: string | undefined, verdict: AuthorizationVerdict): void {
    if (verdict.allowed) this.publish(session, name, data);
    else session.send(denialFor(message, name, verdict));
  }

  private publish(sender: Session, name: string, data: string | undefined): void {
    const out: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name };
    if (data !== undefined) out.data = data; // no payload means no data field, never "null"
    this.deliver(new SharedMessage(out), sender);
    this.cluster?.send(CLUSTER_CHANNEL, out);
  }

  private deliver(shared: SharedMessage, sender: Session | undefined): void {
    for (const subscriber of this.subscriptions.subscribers(shared.message.name as string)) {
      if (subscriber !== sender) subscriber.send(shared);
    }
  }

  private subscribe(session: Session, message: Message): void | Promise<void> {
    const permitted = this.ctx.permittedNames(session, message);
    if (permitted instanceof Promise) return permitted.then((names) => this.applySubscribe(session, message, names));
    this.applySubscribe(session, message, permitted);
  }

  private applySubscribe(session: Session, message: Message, names: readonly string[]): void {
    if (session.isClosed) return;
    for (const name of names) {
      if (!this.subscriptions.subscribe(name, session)) {
        session.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS, name, originalAction: EVENT_ACTION.SUBSCRIBE });
      }
    }
    // Every name denied: no ack (the client cleared its timers on the denials).
    if (names.length === 0 && (message.names?.length ?? 0) > 0) return;
    this.ack(session, message);
  }

  private unsubscribe(session: Session, message: Message): void {
    for (const name of message.names ?? []) this.subscriptions.unsubscribe(name, session);
    this.ack(session, message);
  }

  private ack(session: Session, message: Message): void {
    const ack: Message = { topic: TOPIC.EVENT, action: message.action, isAck: true };
    if (message.correlationId !== undefined) ack.correlationId = message.correlationId;
    session.send(ack);
  }

  private rejectData(session: Session, message: Message, why: string): void {
    session.warn(why, { name: message.name });
    const reply: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.INVALID_MESSAGE_DATA, originalAction: message.action, isError: true };
    if (message.name !== undefined) reply.name = message.name;
    session.send(reply);
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
