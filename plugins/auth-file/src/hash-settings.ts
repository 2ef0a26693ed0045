import type { HashParameters } from './password.ts';

/** What `deepstream hash` and deepstream itself append: base64 of 16 random bytes. */
const SALT = /^[A-Za-z0-9+/]{22}==$/;

/** The key length of a stored `base64(key) + salt`, if it has that shape; undefined otherwise. */
export function storedKeyLength(stored: string): number | undefined {
  const salt = stored.slice(-24);
  if (!SALT.test(salt)) return undefined;
  const key = stored.slice(0, -24);
  if (key.length === 0 || key.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return undefined;
  return Buffer.from(key, 'base64').length;
}

/**
 * Why no stored password can match with these hash settings, naming the setting to change, or
 * undefined. Only a mistake that shows in every entry counts: the settings, not one user, are wrong.
 * - `hash: false` (plain text) while every password is a PBKDF2 hash: every login would fail.
 * - a `keyLength` other than the one every hash was made with.
 * The digest and iterations leave no trace in a hash, so a wrong one cannot be seen here.
 */
export function hashSettingsMismatch(passwords: readonly string[], parameters: HashParameters, source: string): string | undefined {
  if (passwords.length === 0) return undefined;
  const lengths = passwords.map(storedKeyLength);
  if (parameters.hash === false) {
    if (lengths.every((length) => length !== undefined && length >= 16)) {
      return `option "hash" is false (plain-text passwords), but every password in ${source} is a PBKDF2 hash: set hash, iterations and keyLength to the values they were made with (deepstream's own users.yml: hash md5, iterations 100, keyLength 32)`;
    }
    return undefined;
  }
  const found = new Set(lengths);
  if (found.size === 1 && !found.has(undefined) && !found.has(parameters.keyLength)) {
    return `option "keyLength" is ${parameters.keyLength}, but every password hash in ${source} has a ${[...found][0]}-byte key: set keyLength to ${[...found][0]}; until then none of these users can log in`;
  }
  return undefined;
}
