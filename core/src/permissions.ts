import type { AuthorizationFacts, AuthorizationRequest, AuthorizationVerdict, KernelHooks } from './hooks.ts';
import { denialFor } from './protocol/denials.ts';
import type { Message } from './protocol/messages.ts';
import type { Session } from './session/session.ts';

export const ALLOWED: AuthorizationVerdict = Object.freeze({ allowed: true });

/**
 * The kernel's side of permissions: one call for feature plugins, whatever permission plugins
 * are tapped on `authorize`. With none, every answer is `ALLOWED` and synchronous, so the hot
 * path never waits a microtask.
 */
export class PermissionGate {
  constructor(private readonly hooks: KernelHooks) {}

  authorize(session: Session, message: Message, name: string, permission?: string, facts?: AuthorizationFacts): AuthorizationVerdict | Promise<AuthorizationVerdict> {
    if (!this.hooks.authorize.isUsed()) return ALLOWED;
    const request: AuthorizationRequest = { session, message, name, permission, facts };
    return this.hooks.authorize.promise(request).then((verdict) => verdict ?? ALLOWED);
  }

  /** PROTOCOL §5.4: each name checked on its own, a denial sent per denied name, the rest returned in order. */
  permittedNames(session: Session, message: Message): readonly string[] | Promise<readonly string[]> {
    const names = message.names ?? [];
    if (!this.hooks.authorize.isUsed()) return names;
    return (async () => {
      const permitted: string[] = [];
      for (const name of names) {
        const verdict = await this.authorize(session, message, name);
        if (verdict.allowed) permitted.push(name);
        else session.send(denialFor(message, name, verdict));
      }
      return permitted;
    })();
  }
}
