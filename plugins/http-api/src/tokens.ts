import { randomBytes } from 'node:crypto';
import type { AuthenticationResult } from '@deepstream-ts/core';

/**
 * Tokens issued by the token login endpoint: token → the identity the authentication chain gave,
 * in memory, each for `ttl` milliseconds. Bounded: past `max` the oldest token is forgotten (with a
 * fixed lifetime, insertion order is expiry order).
 */
export class TokenStore {
  private readonly tokens = new Map<string, { identity: AuthenticationResult; expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttl, 60_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.tokens.size;
  }

  /** 192 random bits, URL-safe: unguessable, and usable in a path. */
  issue(identity: AuthenticationResult): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { identity, expires: Date.now() + this.ttl });
    if (this.tokens.size > this.max) this.tokens.delete(this.tokens.keys().next().value as string);
    return token;
  }

  /** The identity behind a live token; undefined for unknown and expired ones. */
  find(token: string): AuthenticationResult | undefined {
    const entry = this.tokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry.identity;
    this.tokens.delete(token);
    return undefined;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.tokens.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, entry] of this.tokens) {
      if (entry.expires > now) break; // the rest expire later
      this.tokens.delete(token);
    }
  }
}
