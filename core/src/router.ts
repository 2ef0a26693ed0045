import { DeepstreamError, describeError } from './errors.ts';
import { TOPIC, type Message } from './protocol/messages.ts';
import type { HookFailure } from './hooks.ts';
import type { Session } from './session/session.ts';

/** Handles every message of one topic from authenticated sessions. May return a promise. */
export type TopicHandler = (session: Session, message: Message) => void | Promise<void>;

/** Topics a plugin may own; CONNECTION, AUTH and PARSER belong to the kernel. */
const CLAIMABLE = new Set<number>([TOPIC.EVENT, TOPIC.RECORD, TOPIC.RPC, TOPIC.PRESENCE, TOPIC.MONITORING]);

/** Per-topic routing: each topic has exactly one owning plugin, fixed at start. */
export class Router {
  private readonly handlers: Array<TopicHandler | undefined> = [];
  private readonly owners: Array<string | undefined> = [];

  constructor(private readonly report: (failure: HookFailure) => void) {}

  claim(topic: TOPIC, owner: string, handler: TopicHandler): void {
    if (!CLAIMABLE.has(topic)) {
      throw new DeepstreamError('DS_TOPIC_ALREADY_CLAIMED', `plugin "${owner}" cannot claim topic ${TOPIC[topic] ?? topic}: the kernel owns it`);
    }
    const current = this.owners[topic];
    if (current !== undefined) {
      throw new DeepstreamError(
        'DS_TOPIC_ALREADY_CLAIMED',
        `plugin "${owner}" claimed topic ${TOPIC[topic]}, which plugin "${current}" already owns`,
      );
    }
    this.owners[topic] = owner;
    this.handlers[topic] = handler;
  }

  ownerOf(topic: TOPIC): string | undefined {
    return this.owners[topic];
  }

  /**
   * Returns false when no plugin owns the topic; true when the handler finished; a promise (truthy
   * too) when it is still at work, settling once it is done and never rejecting, so that a
   * transport can tell when a message was handled (MQTT acknowledges a publish then). A handler
   * that throws is reported, never rethrown.
   */
  route(session: Session, message: Message): boolean | Promise<void> {
    const handler = this.handlers[message.topic];
    if (handler === undefined) return false;
    try {
      const pending = handler(session, message);
      if (pending !== undefined) return pending.catch((error: unknown) => this.fail(message, error));
    } catch (error) {
      this.fail(message, error);
    }
    return true;
  }

  private fail(message: Message, error: unknown): void {
    const plugin = this.owners[message.topic] ?? 'unknown';
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
