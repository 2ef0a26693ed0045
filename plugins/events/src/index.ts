import { definePlugin } from '@deepstream-ts/core';
import { EventsService } from './events-service.ts';

export interface EventsOptions {
  /**
   * Reject EMITs whose payload is not valid JSON with INVALID_MESSAGE_DATA. The official client
   * throws while decoding such a payload, so relaying it would break every subscriber.
   */
  validatePayloads: boolean;
  /** Longest event name accepted (EMIT, SUBSCRIBE), in UTF-16 code units; longer ones get INVALID_MESSAGE_DATA. */
  maxNameLength: number;
}

/** Pub-sub events (EVENTS_RPC_PRESENCE §1): subscribe, unsubscribe, emit, across the cluster. */
export const events = definePlugin<EventsOptions>({
  package: import.meta.url,
  provides: ['events'],
  needs: { listening: 'optional' },
  defaults: { validatePayloads: true, maxNameLength: 1024 },
  setup(ctx) {
    const { maxNameLength, validatePayloads } = ctx.options;
    if (!Number.isInteger(maxNameLength) || maxNameLength < 1) throw new TypeError(`events option maxNameLength must be a positive integer, got ${String(maxNameLength)}`);
    if (typeof validatePayloads !== 'boolean') throw new TypeError(`events option validatePayloads must be true or false, got ${String(validatePayloads)}`);
    // Listening is optional: when a plugin provides it, LISTEN traffic goes there.
    const service = new EventsService(ctx, ctx.find('listening'));
    ctx.provide('events', service);
    ctx.claim(service.topic, (session, message) => service.handle(session, message));
    ctx.hooks.disconnect.tap(ctx.name, (session) => service.forget(session));
    ctx.onClose(service.attachCluster(ctx.use('cluster')));
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
