export interface PresenceOptions {
  /** Most user names one SUBSCRIBE or QUERY may carry; more is refused with INVALID_PRESENCE_USERS. */
  maxNamesPerRequest: number;
  /** Longest user name (and room id) accepted, in UTF-16 code units. */
  maxNameLength: number;
  /** Per-channel presence driven by event subscriptions under `roomPrefix` (README: Rooms). */
  rooms: boolean;
  /** Event names starting with this are rooms; clients may subscribe to them but not emit on them. */
  roomPrefix: string;
  /** Most rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
}

export const DEFAULT_OPTIONS: PresenceOptions = {
  maxNamesPerRequest: 10_000,
  maxNameLength: 512,
  rooms: false,
  roomPrefix: 'presence-room/',
  maxRoomsPerConnection: 100,
};

/** Throws, naming the option, when a setting cannot work; the loader reports it as a setup failure. */
export function checkOptions(options: PresenceOptions): void {
  for (const key of ['maxNamesPerRequest', 'maxNameLength', 'maxRoomsPerConnection'] as const) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`presence option ${key} must be a positive integer, got ${String(value)}`);
  }
  if (typeof options.rooms !== 'boolean') throw new TypeError(`presence option rooms must be true or false, got ${String(options.rooms)}`);
  if (typeof options.roomPrefix !== 'string' || options.roomPrefix === '') {
    throw new TypeError(`presence option roomPrefix must be a non-empty string, got ${JSON.stringify(options.roomPrefix)}`);
  }
}

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
