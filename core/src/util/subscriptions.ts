import type { Session } from '../session/session.ts';
import type { Message } from '../protocol/messages.ts';

/** Told when a name gains its first subscriber or loses its last (listening, cluster state). */
export interface SubscriptionObserver {
  onFirstSubscriber?(name: string): void;
  /** Every new subscription, after `onFirstSubscriber` when it is the first. */
  onSubscribe?(name: string, session: Session): void;
  /** Every subscription that ends (unsubscribe or the session gone), before `onLastSubscriber` when it was the last. */
  onUnsubscribe?(name: string, session: Session): void;
  onLastSubscriber?(name: string): void;
}

const NONE: ReadonlySet<Session> = new Set();

/** What `add` did: subscribed, already subscribed, or refused because the session holds `maxPerSession` names. */
export type SubscribeOutcome = 'added' | 'duplicate' | 'full';

export interface SubscriptionRegistryOptions {
  /** Names one session may hold in this registry (`connection.maxSubscriptionsPerConnection`); unbounded when absent. */
  maxPerSession?: number;
}

/**
 * Which sessions subscribe to which names, both ways round, so that a session that goes away is
 * removed from every name in one call and leaves nothing behind. Feature-neutral: events, records
 * and presence each keep their own.
 */
export class SubscriptionRegistry {
  private readonly byName = new Map<string, Set<Session>>();
  private readonly bySession = new Map<Session, Set<string>>();
  private readonly observers: SubscriptionObserver[] = [];
  /** Names one session may hold; checked against the size of its set, one comparison. */
  readonly maxPerSession: number;
  /** (session, name) pairs held, kept as they change so that monitors read it in O(1). */
  private pairs = 0;

  constructor({ maxPerSession = Infinity }: SubscriptionRegistryOptions = {}) {
    this.maxPerSession = maxPerSession;
  }

  observe(observer: SubscriptionObserver): void {
    this.observers.push(observer);
  }

  /** @returns false when the session already subscribed to the name, or holds `maxPerSession` names. */
  subscribe(name: string, session: Session): boolean {
    return this.add(name, session) === 'added';
  }

  /** Subscribes unless the session already is, or already holds `maxPerSession` names. */
  add(name: string, session: Session): SubscribeOutcome {
    let names = this.bySession.get(session);
    if (names !== undefined) {
      if (names.has(name)) return 'duplicate';
      if (names.size >= this.maxPerSession) return 'full';
    }
    let sessions = this.byName.get(name);
    if (sessions === undefined) this.byName.set(name, (sessions = new Set()));
    sessions.add(session);
    this.pairs++;
    if (names === undefined) this.bySession.set(session, (names = new Set()));
    names.add(name);
    if (sessions.size === 1) for (const o of this.observers) o.onFirstSubscriber?.(name);
    for (const o of this.observers) o.onSubscribe?.(name, session);
    return 'added';
  }

  /** @returns false when the session was not subscribed. */
  unsubscribe(name: string, session: Session): boolean {
    const names = this.bySession.get(session);
    if (names === undefined || !names.delete(name)) return false;
    if (names.size === 0) this.bySession.delete(session);
    this.detach(name, session);
    return true;
  }

  /** Removes the session from every name; returns the names it held. */
  removeSession(session: Session): string[] {
    const names = this.bySession.get(session);
    if (names === undefined) return [];
    this.bySession.delete(session);
    for (const name of names) this.detach(name, session);
    return [...names];
  }

  /** The reason `add` refuses for a full session, for the error sent to the client. */
  limitReason(): string {
    return `maxSubscriptionsPerConnection (${this.maxPerSession}) reached`;
  }

  subscribers(name: string): ReadonlySet<Session> {
    return this.byName.get(name) ?? NONE;
  }

  isSubscribed(name: string, session: Session): boolean {
    return this.byName.get(name)?.has(session) === true;
  }

  /** Every name with at least one subscriber. */
  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** Names with a subscriber, and subscriptions (a session on a name) in all. */
  get size(): { names: number; subscriptions: number } {
    return { names: this.byName.size, subscriptions: this.pairs };
  }

  namesOf(session: Session): ReadonlySet<string> {
    return this.bySession.get(session) ?? new Set();
  }

  private detach(name: string, session: Session): void {
    const sessions = this.byName.get(name);
    if (sessions === undefined || !sessions.delete(session)) return;
    this.pairs--;
    for (const o of this.observers) o.onUnsubscribe?.(name, session);
    if (sessions.size === 0) {
      this.byName.delete(name);
      for (const o of this.observers) o.onLastSubscriber?.(name);
    }
  }
}

/**
 * What a feature plugin hands its listening traffic to (LISTEN, UNLISTEN, LISTEN_ACCEPT,
 * LISTEN_REJECT). Implemented by the listening plugin; declared here so that events and records
 * depend on the shape, not on that package.
 */
export interface TopicListenerHandler {
  handles(action: number): boolean;
  handle(session: Session, message: Message): void | Promise<void>;
}

/** The `listening` service: one listener registry per topic, watching that topic's subscriptions. */
export interface ListeningService {
  forTopic(topic: 'event' | 'record', subscriptions: SubscriptionRegistry): TopicListenerHandler;
}
