import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(pbkdf2);

/** How stored passwords are hashed (SECURITY §2.2); `hash: false` stores them as plain text. */
export interface HashParameters {
  hash: string | false;
  iterations: number;
  keyLength: number;
}

/** Characters of the base64 key at the front of a stored hash; the salt string follows. */
export function keyCharacters(keyLength: number): number {
  return 4 * Math.ceil(keyLength / 3);
}

/**
 * Why `stored` cannot be a password hash for these parameters, or undefined when it can. Checked
 * for every user at start, so a login never meets a malformed entry.
 */
export function malformedHash(stored: string, { hash, keyLength }: HashParameters): string | undefined {
  if (hash === false) return undefined;
  const chars = keyCharacters(keyLength);
  const key = stored.slice(0, chars);
  if (stored.length <= chars) return `it is not a ${hash} hash of ${keyLength} bytes: expected ${chars} base64 characters of key followed by a salt, got ${stored.length} characters in all`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== keyLength) {
    return `its first ${chars} characters are not the base64 of a ${keyLength}-byte key`;
  }
  return undefined;
}

/** A new stored hash: base64(PBKDF2(password, salt)) + salt, the salt being base64 of 16 random bytes. */
export async function hashPassword(password: string, { hash, iterations, keyLength }: HashParameters): Promise<string> {
  if (hash === false) return password;
  const salt = randomBytes(16).toString('base64');
  const key = await derive(password, salt, iterations, keyLength, hash);
  return key.toString('base64') + salt;
}

/**
 * Whether `password` matches `stored`, in time that does not depend on where they differ. PBKDF2
 * runs on libuv's thread pool, so the event loop keeps serving other clients meanwhile.
 */
export async function verifyPassword(password: string, stored: string, parameters: HashParameters): Promise<boolean> {
  const { hash, iterations, keyLength } = parameters;
  if (hash === false) {
    // Digests have equal lengths, which timingSafeEqual needs; the lengths of the inputs stay hidden.
    return timingSafeEqual(sha256(password), sha256(stored));
  }
  const chars = keyCharacters(keyLength);
  const expected = Buffer.from(stored.slice(0, chars), 'base64');
  const actual = await derive(password, stored.slice(chars), iterations, keyLength, hash);
  return timingSafeEqual(actual, expected);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
