import { EVENT_ACTION, PARSER_ACTION, RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RC } from './reason-codes.ts';

/** Whether a kernel reply correlated with a packet says it was refused (beyond `isError`). */
export function isRefusal(topic: number, action: number): boolean {
  if (topic === TOPIC.EVENT) return action === EVENT_ACTION.MESSAGE_DENIED || action === EVENT_ACTION.MESSAGE_PERMISSION_ERROR || action === EVENT_ACTION.INVALID_MESSAGE_DATA;
  return false;
}

/** The MQTT 5 reason code for a kernel refusal; a refusal with `data` names a limit. */
export function reasonFor(failure: Message): number {
  const { topic, action } = failure;
  if (topic === TOPIC.PARSER && action === PARSER_ACTION.UNKNOWN_TOPIC) return RC.IMPLEMENTATION_SPECIFIC_ERROR;
  if (topic === TOPIC.CONNECTION) return RC.QUOTA_EXCEEDED; // an inbound filter (a rate limit) dropped it
  if (topic === TOPIC.EVENT) {
    if (action === EVENT_ACTION.MESSAGE_DENIED) return failure.data === undefined ? RC.NOT_AUTHORIZED : RC.QUOTA_EXCEEDED;
    if (action === EVENT_ACTION.INVALID_MESSAGE_DATA) return failure.data === undefined ? RC.PAYLOAD_FORMAT_INVALID : RC.QUOTA_EXCEEDED;
    return RC.UNSPECIFIED_ERROR;
  }
  if (topic === TOPIC.RECORD) {
    if (action === RECORD_ACTION.MESSAGE_DENIED) return RC.NOT_AUTHORIZED;
    if (action === RECORD_ACTION.INVALID_MESSAGE_DATA) return RC.PAYLOAD_FORMAT_INVALID;
  }
  return RC.UNSPECIFIED_ERROR;
}
