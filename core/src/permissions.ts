import type { AuthorizationFacts, AuthorizationRequest, AuthorizationVerdict, KernelHooks } from './hooks.ts';
import type { Message } from './protocol/messages.ts';
import type { Session } from './session/session.ts';

export const ALLOWED: AuthorizationVerdict = Object.freeze({ allowed: true });
/** A check that could not be made (a feature's facts or permission function threw): denied with an error. */
export const CHECK_FAILED: AuthorizationVerdict = Object.freeze({ allowed: false, error: true });

/** One permission a message needs; `action` is the number rules see, when it is not the message's own. */
export type Permission = string | { readonly permission: string; readonly action?: number };
/** What a message needs: one permission, several asked in order (the first denial wins), or none (`undefined`, `[]`). */
export type Permissions = Permission | readonly Permission[] | undefined;

/**
 * The permissions one action needs: fixed, or worked out per message and name. A function may
 * look at the facts (whether the record exists) and may return a promise; it is only called
 * when a permission plugin is configured. Return no permission for a message the handler will
 * refuse anyway (a missing or overlong name), so that the refusal, not a denial, answers it.
 */
export type PermissionRule<F extends AuthorizationFacts = AuthorizationFacts> =
  | Permissions
  | ((message: Message, name: string, facts: F | undefined) => Permissions | Promise<Permissions>);

/**
 * What a topic's owner declares when it claims the topic: which permission each action needs, and
 * the facts it offers about the resource. The router then asks `authorize` before the handler, in
 * one place; actions not listed need no permission.
 */
export interface TopicAccess<F extends AuthorizationFacts = AuthorizationFacts> {
  /** The resource the topic's names belong to, as permission plugins see it (`record`, `event`, ...). */
  readonly resource: string;
  /** By wire action. */
  readonly permissions: Readonly<Partial<Record<number, PermissionRule<F>>>>;
  /** Actions that carry their names in `names` (subscribe many): each is asked on its own (PROTOCOL §5.4). */
  readonly bulk?: readonly number[];
  /**
   * Keep each session's messages of this topic in arrival order while some wait for a check: a
   * message arriving meanwhile (even one that needs no permission) runs after them, so a quick
   * subscribe-then-unsubscribe cannot end up subscribed. Costs nothing without a permission plugin.
   */
  readonly ordered?: boolean;
  /** The name a nameless request (no `name`, no `names`) is asked with; default `""`. */
  readonly nameless?: string;
  /**
   * The feature's facts for one name of one message, made synchronously when the message is routed
   * (so a record write can take its place in the record's queue in arrival order). For a message
   * with one name they reach the handler if it is allowed.
   */
  facts?(session: Session, message: Message, name: string): F | undefined;
  /** The facts will reach no handler (the request was denied, or only asked about): give back what they reserved. */
  release?(facts: F): void;
}

/**
 * What the router tells a handler about the permission checks made before it, when any were:
 * `undefined` when no permission plugin is configured or the action needs none.
 */
export interface Admission<F extends AuthorizationFacts = AuthorizationFacts> {
  /** The facts the single name was judged with. */
  readonly facts: F | undefined;
  /** Bulk messages: the facts each permitted name was judged with, in the order of `message.names`. */
  readonly each: ReadonlyArray<F | undefined> | undefined;
  /** Bulk messages: names denied and already answered; the message the handler sees carries the rest. */
  readonly denied: number;
}

/**
 * The kernel's one door to the permission plugins: whatever asks (the router for wire messages,
 * a feature for work of its own), with none tapped on `authorize` the answer is `ALLOWED`.
 */
export class PermissionGate {
  constructor(private readonly hooks: KernelHooks) {}

  /** True when some plugin judges requests; false means everything is allowed, synchronously. */
  get active(): boolean {
    return this.hooks.authorize.isUsed();
  }

  authorize(request: AuthorizationRequest): Promise<AuthorizationVerdict> {
    if (!this.active) return Promise.resolve(ALLOWED);
    return this.hooks.authorize.promise(request).then((verdict) => verdict ?? ALLOWED);
  }

  /** Asks each permission in turn for one name; the first denial wins. */
  async authorizeAll(session: Session, resource: string, name: string, needed: Permissions, action: number | undefined, facts: AuthorizationFacts | undefined): Promise<AuthorizationVerdict> {
    if (needed === undefined) return ALLOWED;
    const list: readonly Permission[] = typeof needed === 'string' || !Array.isArray(needed) ? [needed as Permission] : needed;
    for (const step of list) {
      const request: AuthorizationRequest =
        typeof step === 'string'
          ? { session, resource, name, permission: step, action, facts }
          : { session, resource, name, permission: step.permission, action: step.action ?? action, facts };
      const verdict = await this.authorize(request);
      if (!verdict.allowed) return verdict;
    }
    return ALLOWED;
  }
}
