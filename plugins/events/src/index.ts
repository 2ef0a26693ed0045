import { definePlugin } from '@deepstream-ts/core';
import { EventsService } from './events-service.ts';
import { EVENTS_OPTIONS, type EventsOptions } from './options.ts';
import type { EventEmitsService } from './emit-observers.ts';

export type { EventsOptions } from './options.ts';
export type { EmitObserver, EventEmitsService } from './emit-observers.ts';

/** Pub-sub events (EVENTS_RPC_PRESENCE §1): subscribe, unsubscribe, emit, across the cluster. */
export const events = definePlugin<EventsOptions>({
  package: import.meta.url,
  provides: ['events', 'eventSubscriptions', 'eventEmits'],
  needs: { listening: 'optional' },
  options: EVENTS_OPTIONS,
  setup(ctx) {
    // Listening is optional: when a plugin provides it, LISTEN traffic goes there.
    const service = new EventsService(ctx, ctx.find('listening'));
    ctx.provide('events', service);
    ctx.provide('eventSubscriptions', { observe: (observer) => service.subscriptions.observe(observer) });
    ctx.provide('eventEmits', service.emits);
    ctx.claim(service.topic, (session, message, admission) => service.handle(session, message, admission), service.access());
    ctx.hooks.disconnect.tap(ctx.name, (session) => service.forget(session));
    ctx.onClose(service.attachCluster(ctx.use('cluster')));
    ctx.onClose(ctx.use('inspection').addSubscriptions('event', service.subscriptions));
  },
});

declare module '@deepstream-ts/core' {
  interface Services {
    /** The events plugin: its subscription registry (listening, HTTP API, tests). */
    events: EventsService;
    /** The events plugin: a feed of every delivered event, for delivery rules of one's own. */
    eventEmits: EventEmitsService;
  }
}

export default events;
export { EventsService };
