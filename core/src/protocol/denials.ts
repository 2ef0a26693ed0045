import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type Message } from './messages.ts';
import type { AuthorizationVerdict } from '../hooks.ts';

type Pair = { denied: number; error: number };

/** The denial actions differ per topic (PROTOCOL §7). */
const DENIAL_ACTIONS: Partial<Record<TOPIC, Pair>> = {
  [TOPIC.EVENT]: { denied: EVENT_ACTION.MESSAGE_DENIED, error: EVENT_ACTION.MESSAGE_PERMISSION_ERROR },
  [TOPIC.RECORD]: { denied: RECORD_ACTION.MESSAGE_DENIED, error: RECORD_ACTION.MESSAGE_PERMISSION_ERROR },
  [TOPIC.RPC]: { denied: RPC_ACTION.MESSAGE_DENIED, error: RPC_ACTION.MESSAGE_PERMISSION_ERROR },
  [TOPIC.PRESENCE]: { denied: PRESENCE_ACTION.MESSAGE_DENIED, error: PRESENCE_ACTION.MESSAGE_PERMISSION_ERROR },
};

/**
 * The reply to a denied request for one name (PROTOCOL §5.4): MESSAGE_DENIED, or
 * MESSAGE_PERMISSION_ERROR when the rule could not be evaluated, echoing what the client needs
 * to clear its pending state.
 */
export function denialFor(request: Message, name: string, verdict: AuthorizationVerdict): Message {
  const actions = DENIAL_ACTIONS[request.topic as TOPIC];
  if (actions === undefined) throw new TypeError(`topic ${request.topic} has no permission replies`);
  const reply: Message = {
    topic: request.topic,
    action: (verdict.error === true ? actions.error : actions.denied) as Message['action'],
    name,
    originalAction: request.action,
    isError: true,
  };
  if (request.correlationId !== undefined) reply.correlationId = request.correlationId;
  if (request.isWriteAck === true) reply.isWriteAck = true;
  return reply;
}
