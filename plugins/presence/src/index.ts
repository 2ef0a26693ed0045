import { definePlugin, invalidOptions, type PluginContext, type SubscriptionFeed } from '@deepstream-ts/core';
import { LocalOnlineRegistry } from './online-registry.ts';
import { ClusterOnlineRegistry } from './cluster-registry.ts';
import { PRESENCE_OPTIONS, type PresenceOptions } from './options.ts';
import { PresenceService, type PresenceStats } from './presence-service.ts';
import { RoomPresence, type RoomStats } from './rooms.ts';

/** What other plugins (and tests) may ask presence, through `ctx.use('presence')`. */
export interface Presence {
  isOnline(user: string): boolean;
  /** Every user online, the asker's own id included. */
  onlineUsers(): string[];
  /** Visible users in a room, by room id (without the prefix); empty when rooms are off. */
  roomMembers(room: string): string[];
  /** Read-only counts, for monitoring and for checking that nothing is left behind. */
  readonly stats: PresenceStats & RoomStats;
}

declare module '@deepstream-ts/core' {
  interface Services {
    presence: Presence;
  }
}

const NO_ROOMS: RoomStats = Object.freeze({ rooms: 0, roomMemberships: 0, occupiedRooms: 0 });

/** Rooms need the events plugin: without it there are no subscriptions to follow. */
function eventSubscriptions(ctx: PluginContext<PresenceOptions>): SubscriptionFeed {
  const feed = ctx.find('eventSubscriptions');
  if (feed === undefined) throw invalidOptions(ctx.name, 'option "rooms" needs the events plugin (a service "eventSubscriptions"): rooms follow event subscriptions');
  return feed;
}

/**
 * Presence (EVENTS_RPC_PRESENCE §3): who is online, join/leave notifications on a user's first and
 * last connection, queries; optionally per-room presence over events (`rooms: true`).
 */
export const presence = definePlugin<PresenceOptions>({
  package: import.meta.url,
  provides: ['presence'],
  // Rooms follow the events plugin's subscriptions.
  needs: { eventSubscriptions: 'optional' },
  options: PRESENCE_OPTIONS,
  setup(ctx) {
    // The cluster registry costs nothing on a single node: with no peers it never sends.
    const registry = new ClusterOnlineRegistry(ctx.use('cluster'), (error) => ctx.log.error({ err: error }, 'answering a presence query failed'));
    ctx.onClose(() => registry.close());
    const service = new PresenceService(ctx, registry);
    // Rooms tap `inbound` (for emits), which otherwise costs nothing: only when asked for.
    // Room snapshots share the registry's barriers: one per turn for queries and joins alike.
    const rooms = ctx.options.rooms ? new RoomPresence(ctx, eventSubscriptions(ctx), ctx.use('cluster'), (answer) => registry.whenCurrent(answer)) : undefined;
    if (rooms !== undefined) ctx.onClose(() => rooms.close());
    ctx.claim(service.topic, (session, message, admission) => service.handle(session, message, admission), service.access());
    ctx.hooks.authenticated.tap(ctx.name, (session) => service.join(session));
    ctx.hooks.disconnect.tap(ctx.name, (session) => {
      rooms?.leaveAll(session);
      service.leave(session);
    });
    if (rooms !== undefined) ctx.hooks.inbound.tap(ctx.name, (session, message) => rooms.inspect(session, message));
    ctx.onClose(
      ctx.use('inspection').addGauges(
        { name: 'presence_online_users', help: 'Users online in the whole cluster, as presence sees them', read: () => service.stats.onlineUsers },
        { name: 'presence_subscriptions', help: 'Presence subscriptions on this node (to one user, or to everyone)', read: () => service.stats.userSubscriptions + service.stats.everyoneSubscribers },
      ),
    );
    ctx.onClose(ctx.use('inspection').addSessionNames('presence', (session) => service.watchedBy(session)));
    ctx.provide('presence', {
      isOnline: (user) => service.isOnline(user),
      onlineUsers: () => service.onlineUsers(),
      roomMembers: (room) => rooms?.membersOf(room) ?? [],
      get stats() {
        return { ...service.stats, ...(rooms?.stats ?? NO_ROOMS) };
      },
    });
  },
});

export default presence;
export { PresenceService, RoomPresence, LocalOnlineRegistry, ClusterOnlineRegistry };
export type { PresenceOptions, PresenceStats, RoomStats };
export type { OnlineRegistry, PresenceListener } from './online-registry.ts';
