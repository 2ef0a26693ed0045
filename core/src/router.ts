import { DeepstreamError, describeError } from './errors.ts';
import { TOPIC, type Message } from './protocol/messages.ts';
import { denialFor } from './protocol/denials.ts';
import type { AuthorizationFacts, AuthorizationVerdict, HookFailure } from './hooks.ts';
import { ALLOWED, CHECK_FAILED, type Admission, type PermissionGate, type PermissionRule, type TopicAccess } from './permissions.ts';
import type { Session } from './session/session.ts';

/**
 * Handles every message of one topic from authenticated sessions. May return a promise.
 * `admission` says what the router's permission checks found; it is `undefined` when nothing was
 * checked (no permission plugin, or the action needs no permission).
 */
export type TopicHandler<F extends AuthorizationFacts = AuthorizationFacts> = (
  session: Session,
  message: Message,
  admission?: Admission<F>,
) => void | Promise<void>;

/** Topics a plugin may own; CONNECTION, AUTH and PARSER belong to the kernel. */
const CLAIMABLE = new Set<number>([TOPIC.EVENT, TOPIC.RECORD, TOPIC.RPC, TOPIC.PRESENCE, TOPIC.MONITORING]);

interface Claim {
  readonly owner: string;
  readonly handler: TopicHandler;
  readonly access: TopicAccess | undefined;
  /** `access.ordered`: per session, the last message still being checked. */
  readonly waiting: Map<Session, Promise<void>> | undefined;
  /** `access.bulk`, by action. */
  readonly bulk: ReadonlySet<number>;
}

const noop = (): void => undefined;

/**
 * Per-topic routing: each topic has exactly one owning plugin, fixed at start. The one place wire
 * messages are authorized: before the owner's handler, with the permissions it declared.
 */
export class Router {
  private readonly claims: Array<Claim | undefined> = [];

  constructor(
    private readonly gate: PermissionGate,
    private readonly report: (failure: HookFailure) => void,
  ) {}

  claim<F extends AuthorizationFacts>(topic: TOPIC, owner: string, handler: TopicHandler<F>, access?: TopicAccess<F>): void {
    if (!CLAIMABLE.has(topic)) {
      throw new DeepstreamError('DS_TOPIC_ALREADY_CLAIMED', `plugin "${owner}" cannot claim topic ${TOPIC[topic] ?? topic}: the kernel owns it`);
    }
    const current = this.claims[topic];
    if (current !== undefined) {
      throw new DeepstreamError(
        'DS_TOPIC_ALREADY_CLAIMED',
        `plugin "${owner}" claimed topic ${TOPIC[topic]}, which plugin "${current.owner}" already owns`,
      );
    }
    this.claims[topic] = { owner, handler: handler as TopicHandler, access: access as TopicAccess | undefined, waiting: access?.ordered === true ? new Map() : undefined, bulk: new Set(access?.bulk) };
  }

  ownerOf(topic: TOPIC): string | undefined {
    return this.claims[topic]?.owner;
  }

  /**
   * The verdict routing `message` would meet, without answering or handling it: each name on its
   * own, the first denial wins. Facts made for the question are released at once.
   */
  async verdictFor(session: Session, message: Message): Promise<AuthorizationVerdict> {
    const claim = this.claims[message.topic];
    const access = claim?.access;
    const rule = access?.permissions[message.action];
    if (claim === undefined || access === undefined || rule === undefined || !this.gate.active) return ALLOWED;
    for (const name of claim.bulk.has(message.action) ? (message.names ?? []) : [message.name ?? access.nameless ?? '']) {
      const { facts, verdict } = await this.check(claim, access, rule, session, message, name);
      if (facts !== undefined) access.release?.(facts);
      if (!verdict.allowed) return verdict;
    }
    return ALLOWED;
  }

  /**
   * Returns false when no plugin owns the topic; true when the handler finished; a promise (truthy
   * too) when a permission check or the handler is still at work, settling once the message is
   * handled and never rejecting, so that a transport can tell when a message was handled (MQTT
   * acknowledges a publish then). A handler that throws is reported, never rethrown.
   */
  route(session: Session, message: Message): boolean | Promise<void> {
    const claim = this.claims[message.topic];
    if (claim === undefined) return false;
    const { access, waiting } = claim;
    // The hot path: no permission plugin, so the handler runs now, with nothing allocated.
    if (access === undefined || !this.gate.active) return this.run(claim, session, message, undefined) ?? true;
    const rule = access.permissions[message.action];
    const tail = waiting?.get(session);
    if (rule === undefined && tail === undefined) return this.run(claim, session, message, undefined) ?? true;
    const handle = () => (rule === undefined ? this.run(claim, session, message, undefined) : this.admit(claim, access, rule, session, message));
    const done = (tail === undefined ? handle() : tail.then(handle)) ?? Promise.resolve();
    const settled = done.catch((error: unknown) => this.fail(claim, message, error));
    if (waiting !== undefined) {
      waiting.set(session, settled);
      void settled.then(() => {
        if (waiting.get(session) === settled) waiting.delete(session);
      }, noop);
    }
    return settled;
  }

  /**
   * Asks what the message needs from the permission plugins, answers denials, then runs the
   * handler. Bulk messages: each name on its own, a denial per denied name, the handler gets the
   * rest (PROTOCOL §5.4).
   */
  private async admit(claim: Claim, access: TopicAccess, rule: PermissionRule, session: Session, message: Message): Promise<void> {
    if (claim.bulk.has(message.action)) {
      const names = message.names ?? [];
      const permitted: string[] = [];
      // Only a feature that offers facts gets them back, one per permitted name.
      const each: Array<AuthorizationFacts | undefined> | undefined = access.facts === undefined ? undefined : [];
      for (const name of names) {
        const { facts, verdict } = await this.check(claim, access, rule, session, message, name);
        if (verdict.allowed) {
          permitted.push(name);
          each?.push(facts);
          continue;
        }
        if (facts !== undefined) access.release?.(facts);
        session.send(denialFor(message, name, verdict));
      }
      const denied = names.length - permitted.length;
      return this.run(claim, session, denied === 0 ? message : { ...message, names: permitted }, { facts: undefined, each, denied });
    }
    const name = message.name ?? access.nameless ?? '';
    const { facts, verdict } = await this.check(claim, access, rule, session, message, name);
    if (verdict.allowed) return this.run(claim, session, message, { facts, each: undefined, denied: 0 });
    if (facts !== undefined) access.release?.(facts);
    const reply = denialFor(message, name, verdict);
    if (message.name === undefined) delete reply.name; // nameless requests get nameless denials
    session.send(reply);
  }

  /** One name: the feature's facts about it, and the verdict on them. Facts that cannot be made fail the check. */
  private async check(claim: Claim, access: TopicAccess, rule: PermissionRule, session: Session, message: Message, name: string): Promise<{ facts: AuthorizationFacts | undefined; verdict: AuthorizationVerdict }> {
    let facts: AuthorizationFacts | undefined;
    try {
      facts = access.facts?.(session, message, name);
    } catch (error) {
      this.fail(claim, message, error);
      return { facts: undefined, verdict: CHECK_FAILED };
    }
    return { facts, verdict: await this.judge(claim, access, rule, session, message, name, facts) };
  }

  /** One name: the permissions its action needs, asked in order. A rule function that throws fails the check. */
  private async judge(claim: Claim, access: TopicAccess, rule: PermissionRule, session: Session, message: Message, name: string, facts: AuthorizationFacts | undefined): Promise<AuthorizationVerdict> {
    try {
      const needed = typeof rule === 'function' ? await rule(message, name, facts) : rule;
      return await this.gate.authorizeAll(session, access.resource, name, needed, message.action, facts);
    } catch (error) {
      this.fail(claim, message, error);
      return CHECK_FAILED;
    }
  }

  /** Runs the handler; its pending work, if any, comes back as a promise that never rejects. */
  private run(claim: Claim, session: Session, message: Message, admission: Admission | undefined): Promise<void> | undefined {
    try {
      const pending = claim.handler(session, message, admission);
      if (pending !== undefined) return pending.catch((error: unknown) => this.fail(claim, message, error));
    } catch (error) {
      this.fail(claim, message, error);
    }
  }

  private fail(claim: Claim, message: Message, error: unknown): void {
    const plugin = claim.owner;
    const hook = `route:${TOPIC[message.topic]}`;
    this.report({
      hook,
      plugin,
      error: new DeepstreamError('DS_HOOK_TAP_FAILED', `plugin "${plugin}" threw handling ${TOPIC[message.topic]} action ${message.action}: ${describeError(error)}`, {
        cause: error,
      }),
    });
  }
}
