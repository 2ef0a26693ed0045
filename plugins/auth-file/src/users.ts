import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { YAMLException, load as parseYaml } from 'js-yaml';
import { hashSettingsMismatch } from './hash-settings.ts';
import { malformedHash, type HashParameters } from './password.ts';
import { MissingVariableError, invalidOptions, substituteVariables, type JSONValue } from '@deepstream-ts/core';

/** One entry of users.yml. */
export interface User {
  /** The stored hash (`base64(key) + salt`), or the password itself with `hash: false`. */
  readonly password: string;
  /** Private: permission rules see it as `user.data`. */
  readonly serverData: JSONValue;
  /** Sent to the client when it logs in. */
  readonly clientData: JSONValue;
  /** False when the stored hash cannot be checked with the configured settings: every login fails. */
  readonly usable: boolean;
}

const USER_KEYS = new Set(['password', 'serverData', 'clientData']);

/**
 * Reads a users file (`.yml`, `.yaml` or `.json`); `path` is relative to `baseDir`. `${NAME}` is
 * replaced by the environment variable first, as deepstream does; an unset one is an error naming it.
 */
export function readUsersFile(plugin: string, path: string, baseDir: string): { file: string; content: unknown } {
  const file = resolve(baseDir, path);
  const extension = extname(file).toLowerCase();
  if (!['.yml', '.yaml', '.json'].includes(extension)) throw invalidOptions(plugin, `users file ${file}: expected a .yml, .yaml or .json file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalidOptions(plugin, `users file ${file} cannot be read: ${(error as Error).message}`);
  }
  try {
    text = substituteVariables(text);
  } catch (error) {
    if (error instanceof MissingVariableError) throw invalidOptions(plugin, `users file ${file}: ${error.message}`);
    throw error;
  }
  try {
    return { file, content: extension === '.json' ? JSON.parse(text) : parseYaml(text, { filename: file }) };
  } catch (error) {
    throw invalidOptions(plugin, `users file ${file} is not valid ${extension === '.json' ? 'JSON' : 'YAML'}${where(error)}`);
  }
}

/**
 * Where a parse error is, without the parser's message: both parsers quote the offending text,
 * which in a users file may be a password.
 */
function where(error: unknown): string {
  if (error instanceof YAMLException) return `: ${error.reason} at line ${error.mark.line + 1}, column ${error.mark.column + 1}`;
  const position = /position (\d+)/.exec((error as Error).message)?.[1];
  return position === undefined ? '' : ` (near character ${position})`;
}

/**
 * Checks every user up front (SECURITY §2.2 start-up validation) and throws naming the source and
 * the user. A broken entry stops the start rather than being skipped: an operator who adds a user
 * finds out at once, not at that user's first failed login. When instead every entry disagrees
 * with the hash settings, the settings are wrong: `mismatch` says which one (to be logged at warn),
 * and the users are kept, unusable, so that other strategies still serve.
 */
export function parseUsers(plugin: string, content: unknown, source: string, parameters: HashParameters): { users: Map<string, User>; mismatch?: string } {
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    throw invalidOptions(plugin, `${source}: expected a map of username to { password, serverData?, clientData? }`);
  }
  const passwords = Object.values(content).map((entry) => (entry as { password?: unknown } | null)?.password);
  const mismatch = passwords.every((password) => typeof password === 'string')
    ? hashSettingsMismatch(passwords as string[], parameters, source)
    : undefined;
  const users = new Map<string, User>();
  for (const [username, entry] of Object.entries(content)) {
    const where = `${source}: user "${username}"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw invalidOptions(plugin, `${where} must be a map with a password`);
    const unknown = Object.keys(entry).filter((key) => !USER_KEYS.has(key));
    if (unknown.length > 0) throw invalidOptions(plugin, `${where} has unknown key "${unknown[0]}"; known keys: password, serverData, clientData`);
    const { password, serverData, clientData } = entry as Record<string, unknown>;
    if (typeof password !== 'string' || password === '') throw invalidOptions(plugin, `${where} needs a password (a non-empty string)`);
    const malformed = malformedHash(password, parameters);
    if (malformed !== undefined && mismatch === undefined) throw invalidOptions(plugin, `${where}: the password ${malformed} (make one with: npx deepstream hash <password>)`);
    users.set(username, { password, serverData: toJson(serverData), clientData: toJson(clientData), usable: malformed === undefined });
  }
  if (users.size === 0) throw invalidOptions(plugin, `${source} has no users`);
  return mismatch === undefined ? { users } : { users, mismatch };
}

/** Absent data becomes `null`, as the reference sends it; YAML dates and the like become JSON. */
function toJson(value: unknown): JSONValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JSONValue);
}
