import { PRESENCE_ACTION, SharedMessage, TOPIC, type Message } from '@deepstream-ts/core';

/** The name MULTIPLE_SUBSCRIPTIONS carries for a second SUBSCRIBE_ALL (EVENTS_RPC_PRESENCE §3.3). */
export const EVERYONE = '%_EVERYONE_%';

// Replies that never vary: encoded once, shared by every session.
export const SUBSCRIBE_ALL_ACK = new SharedMessage({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL, isAck: true });
export const UNSUBSCRIBE_ALL_ACK = new SharedMessage({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL, isAck: true });
export const ALREADY_SUBSCRIBED_TO_EVERYONE = new SharedMessage({
  topic: TOPIC.PRESENCE,
  action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS,
  name: EVERYONE,
  originalAction: PRESENCE_ACTION.SUBSCRIBE_ALL,
});

/** Ack of SUBSCRIBE / UNSUBSCRIBE: the correlationId, never the names (PROTOCOL §5.1). */
export function ack(request: Message): Message {
  const reply: Message = { topic: TOPIC.PRESENCE, action: request.action, isAck: true };
  if (request.correlationId !== undefined) reply.correlationId = request.correlationId;
  return reply;
}

/**
 * Refusal of a whole SUBSCRIBE or QUERY whose names are unusable. `isError` with the original
 * action and correlationId is what makes the official client reject the pending `getAll()` (or
 * clear its ack timer and emit an error), with the action name `INVALID_PRESENCE_USERS`.
 */
export function invalidUsers(request: Message): Message {
  const reply: Message = { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.INVALID_PRESENCE_USERS, originalAction: request.action, isError: true };
  if (request.correlationId !== undefined) reply.correlationId = request.correlationId;
  return reply;
}
