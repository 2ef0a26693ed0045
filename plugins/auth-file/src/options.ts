import { getHashes } from 'node:crypto';
import { Type, invalidOptions, optionDefaults, type Static } from '@deepstream-ts/core';
import type { HashParameters } from './password.ts';

/**
 * PBKDF2 defaults (`hash`, `iterations`, `keyLength`); `deepstream hash` (hash-command.ts) hashes
 * with these options as the config sets them. deepstream's own users.yml used md5/100/32: set those
 * to keep its hashes.
 */
export const AUTH_FILE_OPTIONS = Type.Object({
  /** A users file (`.yml`, `.yaml` or `.json`), relative to the config file's directory. */
  path: Type.Optional(Type.String({ minLength: 1, expected: 'a file path' })),
  /** The users map itself, instead of `path` (e.g. imported in a `.ts` config). */
  users: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** A digest Node knows (sha256, sha512…) for PBKDF2, or `false` for plain-text passwords. */
  hash: Type.Union([Type.Literal(false), Type.String()], { expected: 'false or a digest Node knows (e.g. sha256, sha512)', default: 'sha256' }),
  /** PBKDF2 iterations. */
  iterations: Type.Integer({ minimum: 1, default: 100_000 }),
  /** PBKDF2 key length in bytes. */
  keyLength: Type.Integer({ minimum: 1, default: 32 }),
  /**
   * Wrong or malformed credentials end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters: Type.Optional(Type.Boolean()),
});

export type AuthFileOptions = Static<typeof AUTH_FILE_OPTIONS>;

const { hash, iterations, keyLength } = optionDefaults(AUTH_FILE_OPTIONS) as AuthFileOptions;
export const DEFAULT_HASH: HashParameters = Object.freeze({ hash, iterations, keyLength });

/** Rules the schema cannot say: users from one place, and a digest this Node build has. */
export function checkUsersAndHash(plugin: string, options: AuthFileOptions): void {
  if ((options.path === undefined) === (options.users === undefined)) {
    throw invalidOptions(plugin, 'needs exactly one of the options path (a users file) or users (a map)');
  }
  if (options.hash !== false && !getHashes().includes(options.hash)) {
    throw invalidOptions(plugin, `option "hash" must be false or a digest Node knows (e.g. sha256, sha512), got ${JSON.stringify(options.hash)}`);
  }
}
