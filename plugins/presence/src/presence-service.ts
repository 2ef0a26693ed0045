import {
  PRESENCE_ACTION,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type Admission,
  type Message,
  type PluginContext,
  type PermissionRule,
  type Session,
  type TopicAccess,
} from '@deepstream-ts/core';
import type { OnlineRegistry } from './online-registry.ts';
import { invalidNames, type PresenceOptions } from './options.ts';
import { ALREADY_SUBSCRIBED_TO_EVERYONE, SUBSCRIBE_ALL_ACK, UNSUBSCRIBE_ALL_ACK, ack, invalidUsers } from './replies.ts';

/**
 * The server's fallback id for a login that gave none: never shown as online. The open
 * strategy's anonymous id is the lower-case `open`, which is tracked (EVENTS_RPC_PRESENCE §3.1).
 */
export const UNTRACKED_USER = 'OPEN';

/**
 * Requests without a name (SUBSCRIBE_ALL, QUERY_ALL) are put to the permission plugins with this
 * name: the reference matches them against the text "undefined" (SECURITY §3.3), so rules written
 * for it keep working.
 */
export const NAMELESS = 'undefined';

/** Counts for monitoring and for tests that check nothing is left behind. */
export interface PresenceStats {
  /** Users online. */
  readonly onlineUsers: number;
  /** Logged-in connections counted towards a user. */
  readonly connections: number;
  /** Connections subscribed to everyone (SUBSCRIBE_ALL). */
  readonly everyoneSubscribers: number;
  /** Users someone subscribed to individually. */
  readonly watchedUsers: number;
  /** Individual subscriptions, summed over connections. */
  readonly userSubscriptions: number;
}

/**
 * Owns the PRESENCE topic (EVENTS_RPC_PRESENCE §3): counts each logged-in connection towards its
 * user, announces users coming online and going offline to those who subscribed, and answers
 * who-is-online queries.
 */
export class PresenceService {
  readonly topic = TOPIC.PRESENCE;
  /** Session → the user it is counted for; a session is counted once, from login to disconnect. */
  private readonly counted = new Map<Session, string>();
  private readonly everyone = new Set<Session>();
  private readonly byUser: SubscriptionRegistry;

  constructor(
    private readonly ctx: PluginContext<PresenceOptions>,
    private readonly registry: OnlineRegistry,
  ) {
    this.byUser = new SubscriptionRegistry({ maxPerSession: ctx.config.connection.maxSubscriptionsPerConnection });
    registry.onChange((user, online) => this.announce(user, online));
  }

  isOnline(user: string): boolean {
    return this.registry.isOnline(user);
  }

  onlineUsers(): string[] {
    return [...this.registry.users()];
  }

  /** The users a session watches, `*` for everyone (for inspection: the operator console's session list). */
  watchedBy(session: Session): ReadonlySet<string> | undefined {
    const users = this.byUser.namesOf(session);
    if (!this.everyone.has(session)) return users;
    return new Set(['*', ...users]);
  }

  get stats(): PresenceStats {
    let userSubscriptions = 0;
    let watchedUsers = 0;
    for (const user of this.byUser.names()) {
      watchedUsers++;
      userSubscriptions += this.byUser.subscribers(user).size;
    }
    return {
      onlineUsers: this.registry.size,
      connections: this.counted.size,
      everyoneSubscribers: this.everyone.size,
      watchedUsers,
      userSubscriptions,
    };
  }

  /** Kernel `authenticated` hook. One-request connections (the HTTP API) never count as online. */
  join(session: Session): void {
    const user = session.userId;
    if (user === undefined || user === UNTRACKED_USER || session.info.ephemeral === true || this.counted.has(session)) return;
    this.counted.set(session, user);
    this.registry.connected(user);
  }

  /** Kernel `disconnect` hook: whatever the cause (close, network loss found by the heartbeat sweep, slow consumer). */
  leave(session: Session): void {
    this.everyone.delete(session);
    this.byUser.removeSession(session);
    const user = this.counted.get(session);
    if (user === undefined) return;
    this.counted.delete(session);
    this.registry.disconnected(user);
  }

  /**
   * What the router asks the permission plugins before `handle` runs (SECURITY §3): `allow`, per
   * name, for subscriptions and queries; nameless requests are asked as "undefined". A request
   * whose names break a limit is refused whole by `handle`, so it is not asked. Each session's
   * requests stay in arrival order while some wait for a check.
   */
  access(): TopicAccess {
    const options = this.ctx.options;
    // Asked per name: the limits are checked once per message.
    let checked: Message | undefined;
    let valid = false;
    const named: PermissionRule = (message) => {
      if (checked !== message) valid = invalidNames(message.names ?? [], options) === undefined;
      checked = message;
      return valid ? 'allow' : undefined;
    };
    return {
      resource: 'presence',
      ordered: true,
      nameless: NAMELESS,
      bulk: [PRESENCE_ACTION.SUBSCRIBE, PRESENCE_ACTION.QUERY],
      permissions: {
        [PRESENCE_ACTION.SUBSCRIBE_ALL]: 'allow',
        [PRESENCE_ACTION.QUERY_ALL]: 'allow',
        [PRESENCE_ACTION.SUBSCRIBE]: named,
        [PRESENCE_ACTION.QUERY]: named,
      },
    };
  }

  handle(session: Session, message: Message, admission?: Admission): void {
    if (session.isClosed) return; // closed while a check ran
    switch (message.action) {
      case PRESENCE_ACTION.SUBSCRIBE_ALL:
        return this.subscribeAll(session);
      case PRESENCE_ACTION.UNSUBSCRIBE_ALL:
        this.everyone.delete(session);
        return session.send(UNSUBSCRIBE_ALL_ACK);
      case PRESENCE_ACTION.QUERY_ALL:
        return this.registry.whenCurrent(() => this.queryAll(session));
      case PRESENCE_ACTION.SUBSCRIBE:
        return this.withValidNames(session, message, admission, (names) => this.subscribe(session, message, names));
      case PRESENCE_ACTION.UNSUBSCRIBE:
        // No permission check, no limit: unknown names cost a lookup each and are skipped.
        for (const name of message.names ?? []) this.byUser.unsubscribe(name, session);
        return session.send(ack(message));
      case PRESENCE_ACTION.QUERY:
        return this.withValidNames(session, message, admission, (names) => this.registry.whenCurrent(() => this.query(session, message, names)));
      default:
        // Replies and notifications are server-to-client only; ignored as the reference does (PROTOCOL §5.6).
        session.warn('unsupported presence action ignored', { action: message.action });
    }
  }

  private subscribeAll(session: Session): void {
    if (this.everyone.has(session)) session.send(ALREADY_SUBSCRIBED_TO_EVERYONE);
    else this.everyone.add(session);
    session.send(SUBSCRIBE_ALL_ACK);
  }

  private queryAll(session: Session): void {
    if (session.isClosed) return; // closed while the cluster was asked
    const own = session.userId;
    const names: string[] = [];
    for (const user of this.registry.users()) if (user !== own) names.push(user);
    // No correlationId: the client matches QUERY_ALL_RESPONSE by action alone (PROTOCOL §5.1).
    session.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names });
  }

  private subscribe(session: Session, message: Message, names: readonly string[]): void {
    for (const name of names) {
      const outcome = this.byUser.add(name, session);
      if (outcome === 'duplicate') {
        session.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS, name, originalAction: PRESENCE_ACTION.SUBSCRIBE });
      } else if (outcome === 'full') {
        const reason = this.byUser.limitReason();
        session.warn(`presence subscription refused: ${reason}`, { name });
        session.send({ ...denialFor(message, name, { allowed: false }), data: JSON.stringify(reason) });
      }
    }
    session.send(ack(message));
  }

  private query(session: Session, message: Message, names: readonly string[]): void {
    if (session.isClosed) return; // closed while the cluster was asked
    // No prototype: a user called "__proto__" is a key like any other.
    const online: Record<string, boolean> = Object.create(null) as Record<string, boolean>;
    for (const name of names) online[name] = this.registry.isOnline(name); // the asker is reported truthfully
    const reply: Message = { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_RESPONSE, data: JSON.stringify(online) };
    if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
    session.send(reply);
  }

  /**
   * JOIN_ALL / LEAVE_ALL to everyone-subscribers first, then JOIN / LEAVE to that user's
   * subscribers (EVENTS_RPC_PRESENCE §3.2).
   */
  private announce(user: string, online: boolean): void {
    if (this.everyone.size > 0) {
      const all = new SharedMessage({ topic: TOPIC.PRESENCE, action: online ? PRESENCE_ACTION.PRESENCE_JOIN_ALL : PRESENCE_ACTION.PRESENCE_LEAVE_ALL, name: user });
      for (const session of this.everyone) session.send(all);
    }
    const watchers = this.byUser.subscribers(user);
    if (watchers.size > 0) {
      const one = new SharedMessage({ topic: TOPIC.PRESENCE, action: online ? PRESENCE_ACTION.PRESENCE_JOIN : PRESENCE_ACTION.PRESENCE_LEAVE, name: user });
      for (const session of watchers) session.send(one);
    }
  }

  /** Requests with names: the limits, then the names the router let through (PROTOCOL §5.4). */
  private withValidNames(session: Session, message: Message, admission: Admission | undefined, apply: (names: readonly string[]) => void): void {
    const names = message.names ?? [];
    const problem = invalidNames(names, this.ctx.options);
    if (problem !== undefined) {
      session.warn(`presence request refused: ${problem}`, { action: PRESENCE_ACTION[message.action], names: names.length });
      return session.send(invalidUsers(message));
    }
    // Every name denied: no reply, the denials already settled the client's request.
    if (names.length === 0 && (admission?.denied ?? 0) > 0) return;
    apply(names);
  }
}
