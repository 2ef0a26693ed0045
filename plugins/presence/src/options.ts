import { Type, type Static } from '@deepstream-ts/core';

export const PRESENCE_OPTIONS = Type.Object({
  /** Most user names one SUBSCRIBE or QUERY may carry; more is refused with INVALID_PRESENCE_USERS. */
  maxNamesPerRequest: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Longest user name (and room id) accepted, in UTF-16 code units. */
  maxNameLength: Type.Integer({ minimum: 1, default: 512 }),
  /** Per-channel presence driven by event subscriptions under `roomPrefix` (README: Rooms). */
  rooms: Type.Boolean({ default: false }),
  /** Event names starting with this are rooms; clients may subscribe to them but not emit on them. */
  roomPrefix: Type.String({ minLength: 1, default: 'presence-room/' }),
  /** Most rooms one connection may be in at once. */
  maxRoomsPerConnection: Type.Integer({ minimum: 1, default: 100 }),
});

export type PresenceOptions = Static<typeof PRESENCE_OPTIONS>;

/**
 * Why a list of user names cannot be served, or undefined when it can. Checked before any
 * permission check, so an absurd request costs one pass over its names and nothing more.
 */
export function invalidNames(names: readonly string[], options: PresenceOptions): string | undefined {
  if (names.length > options.maxNamesPerRequest) return `${names.length} names, more than the limit of ${options.maxNamesPerRequest}`;
  for (const name of names) {
    if (name === '') return 'an empty user name';
    if (name.length > options.maxNameLength) return `a user name of ${name.length} characters, more than the limit of ${options.maxNameLength}`;
  }
  return undefined;
}
