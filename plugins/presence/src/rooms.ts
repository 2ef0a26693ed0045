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
} from '@deepstream-ts/core';
import { ConnectionCounter } from './connection-counter.ts';
import type { PresenceOptions } from './options.ts';
import { UNTRACKED_USER } from './presence-service.ts';
import { SessionOrder } from './session-order.ts';

const REFUSED: AuthorizationVerdict = Object.freeze({ allowed: false });

export interface RoomStats {
  /** Rooms with at least one connection in them. */
  readonly rooms: number;
  /** Connections in rooms, summed over rooms. */
  readonly roomMemberships: number;
  /** Rooms with at least one counted (visible) user. */
  readonly occupiedRooms: number;
  /** Connections with a room join waiting for a permission check. */
  readonly pendingJoins: number;
}

/**
 * Per-channel presence without a protocol change (README: Rooms). A connection is in room X while
 * it subscribes to the event `<roomPrefix>X`; members are told on that same event:
 * `{"members": [...]}` to a connection when it joins, then `{"join": user}` / `{"leave": user}` on a
 * user's first and last connection in the room. Only the server speaks on room events.
 *
 * The subscriptions are seen on the kernel's `inbound` hook, before the events plugin handles them;
 * that plugin still subscribes, acks and denies as usual. Permission is asked with the same question
 * it asks (`subscribe` on the event name), so a denied subscription joins no room.
 */
export class RoomPresence {
  /** Event name → connections in the room, both ways round. */
  private readonly members = new SubscriptionRegistry();
  /** Event name → connections per visible user in the room; dropped when empty. */
  private readonly users = new Map<string, ConnectionCounter>();
  private readonly order = new SessionOrder();
  private readonly prefix: string;

  constructor(private readonly ctx: PluginContext<PresenceOptions>) {
    this.prefix = ctx.options.roomPrefix;
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
    return { rooms, roomMemberships, occupiedRooms: this.users.size, pendingJoins: this.order.pending };
  }

  /** Kernel `inbound` hook: cheap for everything but EVENT subscribe, unsubscribe and emit. */
  inspect(session: Session, message: Message): 'drop' | undefined {
    if (message.topic !== TOPIC.EVENT) return undefined;
    switch (message.action) {
      case EVENT_ACTION.SUBSCRIBE:
      case EVENT_ACTION.UNSUBSCRIBE: {
        const rooms = this.roomsIn(message.names);
        if (rooms !== undefined) this.schedule(session, message, rooms);
        return undefined;
      }
      case EVENT_ACTION.EMIT:
        return message.name !== undefined && message.name.startsWith(this.prefix) ? this.refuseEmit(session, message, message.name) : undefined;
      default:
        return undefined;
    }
  }

  /** Kernel `disconnect` hook. */
  leaveAll(session: Session): void {
    for (const room of this.members.removeSession(session)) this.uncount(session, room);
  }

  private roomsIn(names: readonly string[] | undefined): string[] | undefined {
    let rooms: string[] | undefined;
    for (const name of names ?? []) if (name.startsWith(this.prefix)) (rooms ??= []).push(name);
    return rooms;
  }

  private schedule(session: Session, message: Message, rooms: string[]): void {
    const task = message.action === EVENT_ACTION.SUBSCRIBE ? () => this.join(session, message, rooms, 0) : () => this.leave(session, rooms);
    const pending = this.order.run(session, task);
    // The inbound hook cannot wait: report a failure of a deferred join here, never as an unhandled rejection.
    pending?.catch((error: unknown) => this.ctx.log.error({ err: error, session: session.id }, 'room join failed'));
  }

  /**
   * Each room in turn: the limits first (they need no rule, so an absurd list costs no checks),
   * then permission, synchronously when no permission plugin waits.
   */
  private join(session: Session, message: Message, rooms: readonly string[], from: number): void | Promise<void> {
    for (let i = from; i < rooms.length; i++) {
      const room = rooms[i] as string;
      if (session.isClosed) return;
      if (this.members.isSubscribed(room, session)) continue; // the events plugin answers the repeat
      const problem = this.overLimit(session, room);
      if (problem !== undefined) {
        // MESSAGE_DENIED makes the official client drop its callbacks for the room: it waits for nothing.
        session.warn(`room join refused: ${problem}`, { room: room.slice(0, 100) });
        session.send(denialFor(message, room, REFUSED));
        continue;
      }
      const verdict = this.ctx.authorize(session, message, room);
      if (verdict instanceof Promise) {
        return verdict.then((v) => {
          this.admit(session, room, v);
          return this.join(session, message, rooms, i + 1);
        });
      }
      this.admit(session, room, verdict);
    }
  }

  private overLimit(session: Session, room: string): string | undefined {
    const { maxNameLength, maxRoomsPerConnection } = this.ctx.options;
    if (room.length - this.prefix.length > maxNameLength) return `a room id longer than ${maxNameLength} characters`;
    if (this.members.namesOf(session).size >= maxRoomsPerConnection) return `more than ${maxRoomsPerConnection} rooms on one connection`;
    return undefined;
  }

  private admit(session: Session, room: string, verdict: AuthorizationVerdict): void {
    // A denied subscription is answered by the events plugin, which asks the same question.
    if (!verdict.allowed || session.isClosed || this.members.isSubscribed(room, session)) return;
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

  private leave(session: Session, rooms: readonly string[]): void {
    for (const room of rooms) if (this.members.unsubscribe(room, session)) this.uncount(session, room);
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
