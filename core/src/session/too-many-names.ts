import { EVENT_ACTION, PARSER_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type Message } from '../protocol/messages.ts';

/**
 * Each topic's "this request cannot be served as sent" action. Presence uses
 * INVALID_PRESENCE_USERS, which the official client routes to the pending query or subscription.
 */
const INVALID_DATA: Partial<Record<number, number>> = {
  [TOPIC.EVENT]: EVENT_ACTION.INVALID_MESSAGE_DATA,
  [TOPIC.RECORD]: RECORD_ACTION.INVALID_MESSAGE_DATA,
  [TOPIC.RPC]: RPC_ACTION.INVALID_MESSAGE_DATA,
  [TOPIC.PRESENCE]: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
};

/**
 * The reply to a message with more than `connection.maxNamesPerMessage` names: the topic's
 * invalid-data action, echoing what the client matches on, with the limit named in `data`.
 */
export function tooManyNames(message: Message, limit: number): Message {
  const reason = `maxNamesPerMessage (${limit}) exceeded: the message has ${message.names!.length} names`;
  const action = INVALID_DATA[message.topic];
  const reply: Message = action === undefined
    ? { topic: TOPIC.PARSER, action: PARSER_ACTION.INVALID_MESSAGE, data: JSON.stringify(reason) } as Message
    : { topic: message.topic, action, originalAction: message.action, isError: true, data: JSON.stringify(reason) } as Message;
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  return reply;
}
