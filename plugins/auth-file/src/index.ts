import { countAuthenticationStrategies, definePlugin, type AuthenticationResult } from '@deepstream-ts/core';
import { AUTH_FILE_OPTIONS, checkUsersAndHash, type AuthFileOptions } from './options.ts';
import { hashCommand } from './hash-command.ts';
import { verifyPassword } from './password.ts';
import { parseUsers, readUsersFile } from './users.ts';

export { hashPassword, verifyPassword, type HashParameters } from './password.ts';
export { DEFAULT_HASH, type AuthFileOptions } from './options.ts';

const MISSING = Object.freeze({ error: 'missing authentication parameter: username or/and password' });

/**
 * Users from a file (SECURITY §2.2): `{ username, password }` checked against users.yml with
 * PBKDF2 hashes (or plain text with `hash: false`). Unknown users are "not mine", so a later
 * strategy may know them.
 */
export const authFile = definePlugin<AuthFileOptions>({
  package: import.meta.url,
  options: AUTH_FILE_OPTIONS,
  // `deepstream hash`, declared in package.json too so that the CLI finds it without a config.
  commands: { hash: hashCommand },
  setup(ctx) {
    const options = ctx.options;
    checkUsersAndHash(ctx.name, options);
    const parameters = { hash: options.hash, iterations: options.iterations, keyLength: options.keyLength };
    const { file, content } = options.path !== undefined ? readUsersFile(ctx.name, options.path, ctx.config.baseDir) : { file: 'the users option', content: options.users };
    const { users, mismatch } = parseUsers(ctx.name, content, file, parameters);
    if (mismatch !== undefined) ctx.log.warn(mismatch);
    // Unknown usernames cost one hash too, so response time does not tell which usernames exist.
    const decoy = parameters.hash === false ? 'decoy' : `${Buffer.alloc(parameters.keyLength).toString('base64')}decoy-salt`;
    let report = options.reportInvalidParameters ?? true;
    ctx.hooks.boot.tap(ctx.name, () => {
      if (options.reportInvalidParameters === undefined) report = countAuthenticationStrategies(ctx.hooks) === 1;
    });
    ctx.log.info({ users: users.size, source: file, hash: parameters.hash }, 'users loaded');

    ctx.hooks.authenticate.tapPromise(ctx.name, async ({ authData }): Promise<AuthenticationResult | undefined> => {
      const { username, password } = Array.isArray(authData) ? {} : (authData as Record<string, unknown>);
      if (typeof username !== 'string' || typeof password !== 'string') return report ? { isValid: false, clientData: MISSING } : undefined;
      const user = users.get(username);
      if (user === undefined || !user.usable) {
        await verifyPassword(password, decoy, parameters);
        if (user !== undefined) return report ? { isValid: false } : undefined;
        return undefined; // never logged: a password typed into the username field would end up in the log
      }
      if (await verifyPassword(password, user.password, parameters)) {
        return { isValid: true, id: username, serverData: user.serverData, clientData: user.clientData };
      }
      ctx.log.debug({ user: username }, 'wrong password');
      return report ? { isValid: false } : undefined;
    });
  },
});

export default authFile;
