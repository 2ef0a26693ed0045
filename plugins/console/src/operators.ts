import { timingSafeEqual } from 'node:crypto';
import type { AuthenticationRequest, AuthenticationResult, AuthorizationVerdict, ConnectionInfo, Session } from '@deepstream-ts/core';
import { PREFIX } from './names.ts';

const DENIED: AuthorizationVerdict = Object.freeze({ allowed: false });
const ALLOWED: AuthorizationVerdict = Object.freeze({ allowed: true });

/** Compares in constant time, so a secret cannot be guessed byte by byte from response times. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Who may use the console: sessions whose user id the config names, sessions that logged in with
 * the operator token, and the console's own agent. Also the console's two gates: the token login
 * (an authentication strategy) and the reserved prefix (an authorization rule).
 */
export class Operators {
  private readonly names: ReadonlySet<string>;
  /** Connections that logged in with the token; keyed by the info object the session keeps. */
  private readonly tokenLogins = new WeakSet<ConnectionInfo>();
  private agentInfo: ConnectionInfo | undefined;

  constructor(
    names: readonly string[],
    private readonly token: string | undefined,
    private readonly tokenOperator: string,
  ) {
    this.names = new Set(names);
  }

  /** The console's own session is an operator without credentials: it is recognised by identity. */
  setAgent(info: ConnectionInfo): void {
    this.agentInfo = info;
  }

  isAgent(session: Session): boolean {
    return session.info === this.agentInfo;
  }

  isOperator(session: Session): boolean {
    if (!session.isAuthenticated) return false;
    return session.info === this.agentInfo || this.tokenLogins.has(session.info) || (session.userId !== undefined && this.names.has(session.userId));
  }

  /** Who did it, for the action log. */
  identity(session: Session): string {
    return this.tokenLogins.has(session.info) ? `${session.userId} (operator token)` : (session.userId ?? 'unknown');
  }

  /** The agent's login, and `{ operatorToken }` logins; anything else is left to the other strategies. */
  authenticate({ authData, connection }: AuthenticationRequest): AuthenticationResult | undefined {
    if (connection === this.agentInfo) return { isValid: true, id: '$console' };
    if (this.token === undefined || Array.isArray(authData) || !('operatorToken' in authData)) return undefined;
    if (!sameSecret((authData as Record<string, unknown>).operatorToken, this.token)) return { isValid: false, clientData: { error: 'invalid operator token' } };
    this.tokenLogins.add(connection);
    return { isValid: true, id: this.tokenOperator };
  }

  /** Names under the reserved prefix are the console's: operators only, whatever other rules say. */
  authorize(session: Session, name: string): AuthorizationVerdict | undefined {
    if (!name.startsWith(PREFIX)) return undefined;
    return this.isOperator(session) ? ALLOWED : DENIED;
  }
}
