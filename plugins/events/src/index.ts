import { createRequire } from 'node:module';
import { definePlugin } from '@deepstream-ts/core';
import { EventsService } from './events-service.ts';
import { EVENTS_OPTIONS, type EventsOptions } from './options.ts';

export type { EventsOptions } from './options.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Pub-sub events (EVENTS_RPC_PRESENCE §1): subscribe, unsubscribe, emit, across the cluster. */
export const events = definePlugin<EventsOptions>({
  name,
  version,
  kernel: '^0.1.0',
  options: EVENTS_OPTIONS,
  setup(ctx) {
    const service = new EventsService(ctx);
    ctx.provide('events', service);
    ctx.claim(service.topic, (session, message) => service.handle(session, message));
    ctx.hooks.disconnect.tap(ctx.name, (session) => service.forget(session));
    ctx.onClose(service.attachCluster(ctx.use('cluster')));
    // Listening is optional: when a plugin provides it, LISTEN traffic goes there.
    ctx.hooks.boot.tap(ctx.name, () => {
      const listening = ctx.find('listening');
      if (listening !== undefined) service.listeners = listening.forTopic('event', service.subscriptions);
    });
  },
});

declare module '@deepstream-ts/core' {
  interface Services {
    /** The events plugin: its subscription registry (listening, HTTP API, tests). */
    events: EventsService;
  }
}

export default events;
export { EventsService };
