import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AuthenticationResult, JSONValue } from '@deepstream-ts/core';
import type { SharedTable } from './shared-table.ts';

/** Every token this plugin issues starts so; anything else is some strategy's token. */
const PREFIX = 'dst1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  readonly kid: string;
  readonly key: Buffer;
  /** Tokens are sealed with this key until then. */
  readonly until: number;
}

/** What a token this plugin issued stands for, once opened. */
interface Sealed {
  /** The token's own id, for revocation. */
  readonly j: string;
  /** Expiry, ms since the epoch. */
  readonly e: number;
  readonly i?: string;
  readonly c?: JSONValue;
  readonly s?: JSONValue;
}

/** A token of this plugin, checked: the identity, or why it is refused. Undefined: not one of ours. */
export type TokenCheck = { readonly identity: AuthenticationResult } | { readonly refused: 'forged or unknown' | 'expired' | 'revoked' } | undefined;

/**
 * Tokens of the token login endpoint, valid on every node of a cluster and on a single node alike.
 * A token is the identity (id, clientData, serverData) and its expiry sealed with AES-256-GCM:
 * nobody without the key can read it (serverData stays private) or make one up. Keys are random,
 * made by the node that issues with them, and kept in the cluster-wide table, so every node can
 * open every node's tokens, also after the issuing node is gone. No secret to configure: the keys
 * never leave the servers and the cluster bus, and when the whole cluster restarts they are gone,
 * with every token (fail closed). A node seals with one key for `ttl`, then the next, which it
 * announced a whole `ttl` earlier, so that other nodes know a key before any token uses it.
 * Revocation (logout) is an entry in the same table until the token's expiry.
 */
export class Tokens {
  private current: Key | undefined;
  private next: Key | undefined;
  private rotation: NodeJS.Timeout | undefined;

  constructor(
    private readonly table: SharedTable,
    private readonly ttl: number,
  ) {}

  /**
   * Makes and announces the first keys (at setup, so peers learn them when they meet this node),
   * then the next one every `ttl`, whether or not tokens are issued: a key is always known
   * cluster-wide long before it seals a token.
   */
  start(): void {
    const now = Date.now();
    this.current = this.newKey(now);
    this.next = this.newKey(this.current.until);
    this.rotation = setInterval(() => this.rotate(), this.ttl);
    this.rotation.unref();
  }

  close(): void {
    clearInterval(this.rotation);
  }

  issue(identity: AuthenticationResult): string {
    const now = Date.now();
    const { kid, key } = this.sealingKey(now);
    const sealed: Sealed = { j: randomBytes(12).toString('base64url'), e: now + this.ttl, i: identity.id, c: identity.clientData, s: identity.serverData };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(kid));
    const body = Buffer.concat([iv, cipher.update(JSON.stringify(sealed), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${kid}.${body.toString('base64url')}`;
  }

  check(token: string): TokenCheck {
    if (!token.startsWith(PREFIX)) return undefined;
    const sealed = this.open(token);
    if (sealed === undefined) return { refused: 'forged or unknown' };
    if (sealed.e <= Date.now()) return { refused: 'expired' };
    if (this.table.get(`r.${sealed.j}`) !== undefined) return { refused: 'revoked' };
    const identity: { isValid: true; id?: string; clientData?: JSONValue; serverData?: JSONValue } = { isValid: true };
    if (sealed.i !== undefined) identity.id = sealed.i;
    if (sealed.c !== undefined) identity.clientData = sealed.c;
    if (sealed.s !== undefined) identity.serverData = sealed.s;
    return { identity };
  }

  /**
   * Logout: the token is refused on every node from now until it would have expired.
   * @returns 'revoked' (also for one that was already expired or revoked), 'unknown' for a token
   * this plugin did not issue (or cannot open), 'full' when this node holds too many revocations.
   */
  revoke(token: string): 'revoked' | 'unknown' | 'full' {
    const sealed = token.startsWith(PREFIX) ? this.open(token) : undefined;
    if (sealed === undefined) return 'unknown';
    if (sealed.e <= Date.now() || this.table.get(`r.${sealed.j}`) !== undefined) return 'revoked';
    return this.table.add(`r.${sealed.j}`, '', sealed.e) ? 'revoked' : 'full';
  }

  private open(token: string): Sealed | undefined {
    const dot = token.indexOf('.', PREFIX.length);
    if (dot < 0) return undefined;
    const kid = token.slice(PREFIX.length, dot);
    const keyText = this.table.get(`k.${kid}`);
    if (keyText === undefined) return undefined;
    const body = Buffer.from(token.slice(dot + 1), 'base64url');
    if (body.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(keyText, 'base64url'), body.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(kid));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const text = Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      const sealed = JSON.parse(text) as Sealed;
      return typeof sealed.j === 'string' && typeof sealed.e === 'number' ? sealed : undefined;
    } catch {
      return undefined; // altered, truncated, or sealed with another key: not a token of ours
    }
  }

  /** The key to seal with now (the rotation timer may run a little late). */
  private sealingKey(now: number): Key {
    while (now >= this.current!.until) this.rotate();
    return this.current!;
  }

  private rotate(): void {
    this.current = this.next!;
    this.next = this.newKey(Math.max(this.current.until, Date.now()));
  }

  /** A key for sealing from `from` for `ttl`; every node keeps it until its last token has expired. */
  private newKey(from: number): Key {
    const key: Key = { kid: randomBytes(9).toString('base64url'), key: randomBytes(32), until: from + this.ttl };
    // Key entries are few (two per node per ttl) and must never be refused.
    this.table.add(`k.${key.kid}`, key.key.toString('base64url'), key.until + this.ttl, false);
    return key;
  }
}
