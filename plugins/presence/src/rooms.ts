import {
  EVENT_ACTION,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type AuthorizationVerdict,
  type Message,
  type PluginContext,
  type Session,
  type SubscriptionFeed,
} from '@deepstream-ts/core';
import { ConnectionCounter } from './connection-counter.ts';
import type { PresenceOptions } from './options.ts';
import { UNTRACKED_USER } from './presence-service.ts';

const REFUSED: AuthorizationVerdict = Object.freeze({ allowed: false });
/** What a refused room join answers: the event subscription it came from. */
const ROOM_SUBSCRIPTION: Message = Object.freeze({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE });

export interface RoomStats {
  /** Rooms with at least one connection in them. */
  readonly rooms: number;
  /** Connections in rooms, summed over rooms. */
  readonly roomMemberships: number;
  /** Rooms with at least one counted (visible) user. */
  readonly occupiedRooms: number;
}

/**
 * Per-channel presence without a protocol change (README: Rooms). A connection is in room X while
 * it subscribes to the event `<roomPrefix>X`; members are told on that same event:
 * `{"members": [...]}` to a connection when it joins, then `{"join": user}` / `{"leave": user}` on a
 * user's first and last connection in the room. Only the server speaks on room events.
 *
 * Rooms follow the events plugin's subscriptions (its `eventSubscriptions` service): a connection
 * joins when the events plugin has subscribed it, after the router's permission check, so a denied
 * subscription joins no room and no question is asked twice. Emits on room events are refused on
 * the kernel's `inbound` hook, before any plugin handles them.
 */
export class RoomPresence {
  /** Event name → connections in the room, both ways round. */
  private readonly members = new SubscriptionRegistry();
  /** Event name → connections per visible user in the room; dropped when empty. */
  private readonly users = new Map<string, ConnectionCounter>();
  private readonly prefix: string;

  constructor(
    private readonly ctx: PluginContext<PresenceOptions>,
    subscriptions: SubscriptionFeed,
  ) {
    this.prefix = ctx.options.roomPrefix;
    subscriptions.observe({
      onSubscribe: (name, session) => {
        if (name.startsWith(this.prefix)) this.join(session, name);
      },
      onUnsubscribe: (name, session) => {
        if (name.startsWith(this.prefix)) this.leave(session, name);
      },
    });
  }

  /** Visible users in a room (by room id, without the prefix). */
  membersOf(room: string): string[] {
    return [...(this.users.get(this.prefix + room)?.users() ?? [])];
  }

  get stats(): RoomStats {
    let rooms = 0;
    let roomMemberships = 0;
    for (const name of this.members.names()) {
      rooms++;
      roomMemberships += this.members.subscribers(name).size;
    }
    return { rooms, roomMemberships, occupiedRooms: this.users.size };
  }

  /** Kernel `inbound` hook: cheap for everything but EVENT emit. */
  inspect(session: Session, message: Message): 'drop' | undefined {
    if (message.topic !== TOPIC.EVENT || message.action !== EVENT_ACTION.EMIT) return undefined;
    return message.name !== undefined && message.name.startsWith(this.prefix) ? this.refuseEmit(session, message, message.name) : undefined;
  }

  /** Kernel `disconnect` hook. */
  leaveAll(session: Session): void {
    for (const room of this.members.removeSession(session)) this.uncount(session, room);
  }

  /** The events plugin subscribed `session` to the room's event: the limits first (they need no rule), then in. */
  private join(session: Session, room: string): void {
    if (session.isClosed || this.members.isSubscribed(room, session)) return;
    const problem = this.overLimit(session, room);
    if (problem !== undefined) {
      // MESSAGE_DENIED makes the official client drop its callbacks for the room: it waits for nothing.
      session.warn(`room join refused: ${problem}`, { room: room.slice(0, 100) });
      session.send(denialFor(ROOM_SUBSCRIPTION, room, REFUSED));
      return;
    }
    this.admit(session, room);
  }

  private overLimit(session: Session, room: string): string | undefined {
    const { maxNameLength, maxRoomsPerConnection } = this.ctx.options;
    if (room.length - this.prefix.length > maxNameLength) return `a room id longer than ${maxNameLength} characters`;
    if (this.members.namesOf(session).size >= maxRoomsPerConnection) return `more than ${maxRoomsPerConnection} rooms on one connection`;
    return undefined;
  }

  private admit(session: Session, room: string): void {
    this.members.subscribe(room, session);
    const user = visibleUser(session);
    let counter = this.users.get(room);
    const others: string[] = [];
    for (const member of counter?.users() ?? []) if (member !== user) others.push(member);
    session.send(roomEvent(room, { members: others }));
    if (user === undefined) return;
    if (counter === undefined) this.users.set(room, (counter = new ConnectionCounter()));
    if (counter.add(user)) this.tell(room, { join: user }, session);
  }

  private leave(session: Session, room: string): void {
    if (this.members.unsubscribe(room, session)) this.uncount(session, room);
  }

  /** The session has already left `room`'s connection set. */
  private uncount(session: Session, room: string): void {
    const user = visibleUser(session);
    if (user === undefined) return;
    const counter = this.users.get(room);
    if (counter === undefined || !counter.remove(user)) return;
    if (counter.size === 0) this.users.delete(room);
    this.tell(room, { leave: user }, undefined);
  }

  /** One encoding for every member of the room, except the connection that caused it. */
  private tell(room: string, data: object, except: Session | undefined): void {
    const members = this.members.subscribers(room);
    if (members.size === 0 || (members.size === 1 && except !== undefined && members.has(except))) return;
    const shared = new SharedMessage(roomEvent(room, data));
    for (const member of members) if (member !== except) member.send(shared);
  }

  private refuseEmit(session: Session, message: Message, room: string): 'drop' {
    session.warn('emit on a presence room refused: only the server speaks there', { room: room.slice(0, 100) });
    session.send(denialFor(message, room, REFUSED));
    return 'drop';
  }
}

function visibleUser(session: Session): string | undefined {
  const user = session.userId;
  return user === UNTRACKED_USER ? undefined : user;
}

function roomEvent(room: string, data: object): Message {
  return { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: room, data: JSON.stringify(data) };
}
