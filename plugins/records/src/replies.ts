import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';

/** `{name, originalAction, isError}` — the shape of most record error replies. */
export function recordError(action: RECORD_ACTION, request: Message, name = request.name): Message {
  const reply: Message = { topic: TOPIC.RECORD, action, originalAction: request.action, isError: true };
  if (name !== undefined) reply.name = name;
  if (request.correlationId !== undefined) reply.correlationId = request.correlationId;
  if (request.isWriteAck === true) reply.isWriteAck = true;
  return reply;
}

/** The request echoed back with `isAck` (PROTOCOL §5.1). */
export function ackOf(request: Message, withNames: boolean): Message {
  const ack: Message = { topic: TOPIC.RECORD, action: request.action, isAck: true };
  if (request.correlationId !== undefined) ack.correlationId = request.correlationId;
  if (withNames && request.names !== undefined) ack.names = request.names;
  return ack;
}

export function readResponse(name: string, version: number, data: unknown): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.READ_RESPONSE, name, version, data: JSON.stringify(data) };
}
