import { EVENT_ACTION, TOPIC, type AuthorizationVerdict, type Message, type Session, type SharedMessage } from '@deepstream-ts/core';

/** Names one connection remembers verdicts for; past it, the cache starts afresh. */
const MAX_VERDICTS = 10_000;

/**
 * Whether a client may receive `name` through a wildcard filter: the event `subscribe` rule for
 * that very name, asked once per name and connection. Events of a name being checked wait, in order.
 */
export class WildcardPermits {
  private readonly verdicts = new Map<string, boolean | SharedMessage[]>();

  constructor(private readonly authorize: (session: Session, message: Message, name: string) => AuthorizationVerdict | Promise<AuthorizationVerdict>) {}

  /** Sends `emit` to `session` now, later (once permitted) or never. */
  deliver(session: Session, emit: SharedMessage, name: string): void {
    const verdict = this.verdicts.get(name);
    if (verdict === true) return session.send(emit);
    if (verdict === false) return;
    if (verdict !== undefined) return void verdict.push(emit);
    const answer = this.authorize(session, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name] }, name);
    if (!(answer instanceof Promise)) return this.remember(session, name, answer.allowed, [emit]);
    this.verdicts.set(name, [emit]);
    void answer.then(
      (v) => this.remember(session, name, v.allowed, this.verdicts.get(name)),
      () => this.remember(session, name, false, undefined),
    );
  }

  private remember(session: Session, name: string, allowed: boolean, waiting: boolean | SharedMessage[] | undefined): void {
    if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.clear();
    this.verdicts.set(name, allowed);
    if (allowed && Array.isArray(waiting)) for (const emit of waiting) session.send(emit);
  }
}
