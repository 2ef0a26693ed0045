import {
  EVENT_ACTION,
  ReplicatedSet,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type AuthorizationVerdict,
  type ClusterBus,
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
 * user's first and last connection in the room, cluster-wide. Only the server speaks on room events.
 *
 * Rooms follow the events plugin's subscriptions (its `eventSubscriptions` service): a connection
 * joins when the events plugin has subscribed it, after the router's permission check, so a denied
 * subscription joins no room and no question is asked twice. Emits on room events are refused on
 * the kernel's `inbound` hook, before any plugin handles them.
 *
 * In a cluster (EVENTS_RPC_PRESENCE §3.5): each node counts its own connections per user and room
 * and holds `room, user` in the replicated set `presence/rooms` while it has one; every node tells
 * its own members when that set changes (nothing is emitted over the bus). A joiner's snapshot
 * waits for a bus barrier, so it holds every join answered anywhere before, and once it is sent
 * every node knows the joiner.
 */
export class RoomPresence {
  /** Event name → connections in the room, both ways round (those waiting for their snapshot too). */
  private readonly members = new SubscriptionRegistry();
  /** Event name → this node's connections per visible user in the room; dropped when empty. */
  private readonly local = new Map<string, ConnectionCounter>();
  /** Every node's `room, user` pairs (see `entry`). */
  private readonly everywhere: ReplicatedSet;
  /** Event name → visible users in the room on any node, as `everywhere` says; dropped when empty. */
  private readonly occupants = new Map<string, Set<string>>();
  /**
   * Event name → connections that joined and wait for their snapshot, with the join's ticket: they
   * are told nothing until the snapshot, which reflects whatever they were not told.
   */
  private readonly waiting = new Map<string, Map<Session, number>>();
  private tickets = 0;
  private readonly prefix: string;

  constructor(
    private readonly ctx: PluginContext<PresenceOptions>,
    subscriptions: SubscriptionFeed,
    bus: ClusterBus,
    /** Runs its argument once this node has every change answered anywhere before the call (the presence registry's). */
    private readonly whenCurrent: (answer: () => void) => void,
  ) {
    this.prefix = ctx.options.roomPrefix;
    this.everywhere = new ReplicatedSet(bus, 'presence/rooms');
    this.everywhere.watch({
      added: (pair) => this.occupied(pair, true),
      removed: (pair) => this.occupied(pair, false),
    });
    subscriptions.observe({
      onSubscribe: (name, session) => {
        if (name.startsWith(this.prefix)) this.join(session, name);
      },
      onUnsubscribe: (name, session) => {
        if (name.startsWith(this.prefix)) this.leave(session, name);
      },
    });
  }

  /** Visible users in a room (by room id, without the prefix), on every node. */
  membersOf(room: string): string[] {
    return [...(this.occupants.get(this.prefix + room) ?? [])];
  }

  /** `rooms` and `roomMemberships` count this node's connections; `occupiedRooms` the whole cluster. */
  get stats(): RoomStats {
    let rooms = 0;
    let roomMemberships = 0;
    for (const name of this.members.names()) {
      rooms++;
      roomMemberships += this.members.subscribers(name).size;
    }
    return { rooms, roomMemberships, occupiedRooms: this.occupants.size };
  }

  close(): void {
    this.everywhere.close();
  }

  /** Kernel `inbound` hook: cheap for everything but EVENT emit. */
  inspect(session: Session, message: Message): 'drop' | undefined {
    if (message.topic !== TOPIC.EVENT || message.action !== EVENT_ACTION.EMIT) return undefined;
    return message.name !== undefined && message.name.startsWith(this.prefix) ? this.refuseEmit(session, message, message.name) : undefined;
  }

  /** Kernel `disconnect` hook. */
  leaveAll(session: Session): void {
    for (const room of this.members.removeSession(session)) {
      this.stopWaiting(room, session);
      this.uncount(session, room);
    }
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

  /** In at once (others hear the join now); the snapshot once this node is current. */
  private admit(session: Session, room: string): void {
    this.members.subscribe(room, session);
    const ticket = ++this.tickets;
    let waiting = this.waiting.get(room);
    if (waiting === undefined) this.waiting.set(room, (waiting = new Map()));
    waiting.set(session, ticket);
    const user = visibleUser(session);
    if (user !== undefined) {
      let counter = this.local.get(room);
      if (counter === undefined) this.local.set(room, (counter = new ConnectionCounter()));
      // The first holder anywhere: `occupied` tells the room (not the joiner, who waits).
      if (counter.add(user)) this.everywhere.add(entry(room, user));
    }
    // Alone this runs now, so the snapshot leaves before the subscription's ack.
    this.whenCurrent(() => this.snapshot(session, room, ticket));
  }

  private snapshot(session: Session, room: string, ticket: number): void {
    // Gone, or left and joined again since (the later join's snapshot answers).
    if (this.waiting.get(room)?.get(session) !== ticket) return;
    this.stopWaiting(room, session);
    if (session.isClosed) return;
    const user = visibleUser(session);
    const others: string[] = [];
    for (const member of this.occupants.get(room) ?? []) if (member !== user) others.push(member);
    session.send(roomEvent(room, { members: others }));
  }

  private stopWaiting(room: string, session: Session): void {
    const waiting = this.waiting.get(room);
    if (waiting !== undefined && waiting.delete(session) && waiting.size === 0) this.waiting.delete(room);
  }

  private leave(session: Session, room: string): void {
    if (!this.members.unsubscribe(room, session)) return;
    this.stopWaiting(room, session);
    this.uncount(session, room);
  }

  /** The session has already left `room`'s connection set. */
  private uncount(session: Session, room: string): void {
    const user = visibleUser(session);
    if (user === undefined) return;
    const counter = this.local.get(room);
    if (counter === undefined || !counter.remove(user)) return;
    if (counter.size === 0) this.local.delete(room);
    this.everywhere.delete(entry(room, user));
  }

  /** `everywhere` changed: a user's first connection in the room on any node, or their last one gone. */
  private occupied(pair: string, joined: boolean): void {
    const parsed = parseEntry(pair);
    if (parsed === undefined) return;
    const [room, user] = parsed;
    let users = this.occupants.get(room);
    if (joined) {
      if (users === undefined) this.occupants.set(room, (users = new Set()));
      users.add(user);
    } else {
      if (users === undefined || !users.delete(user)) return;
      if (users.size === 0) this.occupants.delete(room);
    }
    this.tell(room, joined ? { join: user } : { leave: user });
  }

  /** One encoding for every member of the room here, except those waiting for their snapshot. */
  private tell(room: string, data: object): void {
    const members = this.members.subscribers(room);
    const waiting = this.waiting.get(room);
    if (members.size === 0 || (waiting !== undefined && waiting.size === members.size)) return;
    const shared = new SharedMessage(roomEvent(room, data));
    for (const member of members) if (waiting === undefined || !waiting.has(member)) member.send(shared);
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

/**
 * A `room, user` pair as one name: the room's length first, since both room ids and user ids may
 * hold any character.
 */
function entry(room: string, user: string): string {
  return `${room.length}:${room}${user}`;
}

/** Undefined for a name that is no pair (another node's bug); never throws. */
function parseEntry(pair: string): [room: string, user: string] | undefined {
  const colon = pair.indexOf(':');
  const length = Number(pair.slice(0, colon));
  if (colon < 1 || !Number.isInteger(length) || colon + 1 + length > pair.length) return undefined;
  return [pair.slice(colon + 1, colon + 1 + length), pair.slice(colon + 1 + length)];
}

function roomEvent(room: string, data: object): Message {
  return { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: room, data: JSON.stringify(data) };
}
