import { Type, type Static } from '@deepstream-ts/core';

/** The events plugin's options, with their defaults; `EventsOptions` is typed from it. */
export const EVENTS_OPTIONS = Type.Object({
  /**
   * Reject EMITs whose payload is not valid JSON with INVALID_MESSAGE_DATA. The official client
   * throws while decoding such a payload, so relaying it would break every subscriber.
   */
  validatePayloads: Type.Boolean({ default: true }),
  /** Longest event name accepted (EMIT, SUBSCRIBE), in UTF-16 code units; longer ones get INVALID_MESSAGE_DATA. */
  maxNameLength: Type.Integer({ minimum: 1, default: 1024 }),
});

export type EventsOptions = Static<typeof EVENTS_OPTIONS>;
