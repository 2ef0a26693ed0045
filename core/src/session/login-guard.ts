import type { Logger } from 'pino';
import type { LoginBackoffOptions } from '../config/options.ts';
import type { AuthenticationRequest, AuthenticationResult, KernelHooks } from '../hooks.ts';
import type { ConnectionInfo } from '../transport/transport.ts';
import { LoginBackoff } from './login-backoff.ts';

/** A login's outcome as the kernel gives it: the strategies' answer, or the backoff's refusal. */
export interface LoginResult extends AuthenticationResult {
  /** Set when the backoff refused the attempt without asking any strategy. */
  readonly backoff?: BackoffRefusal;
}

export interface BackoffRefusal {
  /** Milliseconds until the blocked key may try again. */
  readonly retryAfter: number;
  /** Names the limit, the key kind and the wait, e.g. for an HTTP answer. */
  readonly reason: string;
}

const REFUSED: LoginResult = Object.freeze({ isValid: false });
/** Keys longer than this are cut: a megabyte username must not become a megabyte map key. */
const MAX_KEY_LENGTH = 128;

/**
 * The one door every login goes through (WebSocket sessions, the HTTP API's sessions and its
 * token endpoint): the backoff first, then the `authenticate` strategies. Only failures are
 * counted, per username (`authData.username`, when it is a string) and per remote address; while
 * either is blocked the strategies are not run at all, so a blocked key cannot guess.
 */
export class LoginGuard {
  private readonly usernames: LoginBackoff | undefined;
  private readonly addresses: LoginBackoff | undefined;

  constructor(
    private readonly hooks: KernelHooks,
    private readonly options: LoginBackoffOptions | false,
    private readonly log: Logger,
  ) {
    if (options === false) return;
    this.usernames = new LoginBackoff(options.failuresPerUsername, options);
    this.addresses = new LoginBackoff(options.failuresPerAddress, options);
  }

  async authenticate(authData: AuthenticationRequest['authData'], connection: ConnectionInfo): Promise<LoginResult> {
    const { usernames, addresses } = this;
    const username = usernameOf(authData);
    const address = connection.remoteAddress.slice(0, MAX_KEY_LENGTH);
    if (usernames !== undefined && addresses !== undefined) {
      const now = Date.now();
      const userWait = username === undefined ? 0 : usernames.blockedFor(username, now);
      if (userWait > 0) return this.throttled(usernames, 'username', userWait);
      const addressWait = addresses.blockedFor(address, now);
      if (addressWait > 0) return this.throttled(addresses, 'address', addressWait);
    }
    let result: AuthenticationResult | undefined;
    try {
      result = await this.hooks.authenticate.promise({ authData, connection });
    } catch (error) {
      // Not the client's failure (taps are isolated; this is a kernel bug): not counted either.
      this.log.error({ err: error, remoteAddress: connection.remoteAddress }, 'authentication failed unexpectedly');
      return REFUSED;
    }
    if (result?.isValid === true) {
      if (username !== undefined) usernames?.clear(username);
      return result;
    }
    if (usernames !== undefined && addresses !== undefined) {
      const now = Date.now();
      if (username !== undefined) this.noteFailure('username', usernames, usernames.recordFailure(username, now), address);
      this.noteFailure('address', addresses, addresses.recordFailure(address, now), address);
    }
    return result ?? REFUSED;
  }

  /** One warn line when a key is first blocked. The username is never logged: it may be a mistyped password. */
  private noteFailure(kind: 'username' | 'address', table: LoginBackoff, outcome: { blockedFor: number; firstBlock: boolean }, remoteAddress: string): void {
    if (!outcome.firstBlock) return;
    const { window } = this.options as LoginBackoffOptions;
    this.log.warn({ key: kind, remoteAddress, failures: table.failures, window, blockedFor: outcome.blockedFor }, `login backoff: repeated failed logins for one ${kind}, its attempts are refused for a while`);
  }

  /** AUTH_UNSUCCESSFUL data (and the HTTP answer) say which limit and when to retry. */
  private throttled(table: LoginBackoff, kind: 'username' | 'address', wait: number): LoginResult {
    const { window } = this.options as LoginBackoffOptions;
    const option = kind === 'username' ? 'failuresPerUsername' : 'failuresPerAddress';
    const reason = `loginBackoff.${option} (${table.failures} in ${window} ms) reached for this ${kind}; retry in ${wait} ms`;
    return { isValid: false, clientData: { error: reason, retryAfter: wait }, backoff: { retryAfter: wait, reason } };
  }
}

function usernameOf(authData: AuthenticationRequest['authData']): string | undefined {
  const username = Array.isArray(authData) ? undefined : (authData as Record<string, unknown>).username;
  return typeof username === 'string' ? username.slice(0, MAX_KEY_LENGTH) : undefined;
}
