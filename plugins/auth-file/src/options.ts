import { getHashes } from 'node:crypto';
import type { HashParameters } from './password.ts';

export interface AuthFileOptions extends HashParameters {
  /** A users file (`.yml`, `.yaml` or `.json`), relative to the config file's directory. */
  path?: string;
  /** The users map itself, instead of `path` (e.g. imported in a `.ts` config). */
  users?: Record<string, unknown>;
  /**
   * Wrong or malformed credentials end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters?: boolean;
}

/**
 * PBKDF2 defaults. `deepstream hash` (core/src/cli.ts) uses the same values; a test keeps the two
 * in step. deepstream's own users.yml used md5/100/32: set those to keep its hashes.
 */
export const DEFAULT_HASH: HashParameters = { hash: 'sha256', iterations: 100_000, keyLength: 32 };

/** Throws, naming the option, when the settings cannot work. */
export function checkOptions(options: Readonly<AuthFileOptions>): void {
  const { path, users, hash, iterations, keyLength, reportInvalidParameters } = options;
  if ((path === undefined) === (users === undefined)) throw new TypeError('auth-file needs exactly one of the options path (a users file) or users (a map)');
  if (path !== undefined && (typeof path !== 'string' || path === '')) throw new TypeError(`auth-file option path must be a file path, got ${String(path)}`);
  if (hash !== false) {
    if (typeof hash !== 'string' || !getHashes().includes(hash)) throw new TypeError(`auth-file option hash must be false or a digest Node knows (e.g. sha256, sha512), got ${String(hash)}`);
    if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError(`auth-file option iterations must be a positive integer, got ${String(iterations)}`);
    if (!Number.isInteger(keyLength) || keyLength < 1) throw new TypeError(`auth-file option keyLength must be a positive integer, got ${String(keyLength)}`);
  }
  if (reportInvalidParameters !== undefined && typeof reportInvalidParameters !== 'boolean') {
    throw new TypeError(`auth-file option reportInvalidParameters must be true or false, got ${String(reportInvalidParameters)}`);
  }
}
