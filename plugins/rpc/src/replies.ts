import { RPC_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import type { Rpc } from './rpc.ts';

/** Requester-side id of the pending-call limit error, the value `rpc.make` rejects with. */
export const TOO_MANY_PENDING_RPCS = 'TOO_MANY_PENDING_RPCS';
const TOO_MANY_PENDING_DATA = JSON.stringify(TOO_MANY_PENDING_RPCS);

/** A message about `rpc` for its requester: always the requester's own correlation id. */
export function toRequester(rpc: Rpc, action: RPC_ACTION, data?: string): Message {
  const message: Message = { topic: TOPIC.RPC, action, name: rpc.name, correlationId: rpc.correlationId };
  if (data !== undefined) message.data = data;
  return message;
}

/**
 * The call as its provider (a session, or the node forwarding it to one) sees it. To a node it
 * also carries, in `names`, the id the requester chose, for that node to show its provider.
 */
export function toProvider(rpc: Rpc, toNode: boolean): Message {
  const message: Message = { topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: rpc.name, correlationId: rpc.providerId as string };
  if (toNode) message.names = [rpc.requestorId];
  if (rpc.data !== undefined) message.data = rpc.data; // no arguments, no data field
  if (rpc.requestorName !== undefined) message.requestorName = rpc.requestorName;
  if (rpc.requestorData !== undefined) message.requestorData = rpc.requestorData;
  return message;
}

/** Ack of PROVIDE / UNPROVIDE: topic, action, correlationId, isAck, and no names (PROTOCOL §5.1). */
export function ack(request: Message): Message {
  const message: Message = { topic: TOPIC.RPC, action: request.action, isAck: true };
  if (request.correlationId !== undefined) message.correlationId = request.correlationId;
  return message;
}

/** The reference shape: name and originalAction, no isError (PROTOCOL §5.2). */
export function multipleProviders(name: string): Message {
  return { topic: TOPIC.RPC, action: RPC_ACTION.MULTIPLE_PROVIDERS, name, originalAction: RPC_ACTION.PROVIDE };
}

/** To a provider that accepted twice; echoes the id it used. */
export function multipleAccept(request: Message): Message {
  return { topic: TOPIC.RPC, action: RPC_ACTION.MULTIPLE_ACCEPT, name: request.name, correlationId: request.correlationId };
}

/** A reply (or a duplicate request id) that matches no call of the sender. */
export function invalidCorrelationId(request: Message): Message {
  return echo(request, RPC_ACTION.INVALID_RPC_CORRELATION_ID);
}

/** A message the server cannot act on: a missing name or id, a payload that is not JSON. */
export function invalidMessageData(request: Message): Message {
  return echo(request, RPC_ACTION.INVALID_MESSAGE_DATA);
}

/**
 * The per-session pending limit: REQUEST_ERROR, because it is the one error the official client
 * hands to the caller with a value of our choosing (`rpc.make` rejects with the string).
 */
export function tooManyPending(request: Message): Message {
  return { ...echo(request, RPC_ACTION.REQUEST_ERROR), data: TOO_MANY_PENDING_DATA };
}

/**
 * A request whose name is over `maxNameLength`: REQUEST_ERROR, which `rpc.make` rejects with the
 * reason (any other action would leave its promise pending). The name is echoed as sent: the
 * client finds the call by correlationId and the name, bounded by the frame size, was already sent.
 */
export function refusedRequest(request: Message, reason: string): Message {
  return { ...echo(request, RPC_ACTION.REQUEST_ERROR), data: JSON.stringify(reason) };
}

/** INVALID_MESSAGE_DATA naming the limit, for a PROVIDE name that is too long (echoed cut to 100 characters). */
export function refusedName(request: Message, name: string, reason: string): Message {
  return { ...echo({ ...request, name: name.slice(0, 100) }, RPC_ACTION.INVALID_MESSAGE_DATA), data: JSON.stringify(reason) };
}

/** Error replies that echo what the sender needs to match them: name, correlationId, originalAction. */
function echo(request: Message, action: RPC_ACTION): Message {
  const message: Message = { topic: TOPIC.RPC, action, originalAction: request.action, isError: true };
  if (request.name !== undefined) message.name = request.name;
  if (request.correlationId !== undefined) message.correlationId = request.correlationId;
  return message;
}
