import {
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
  type AuthorizationVerdict,
  type Message,
} from '@deepstream-ts/core';

/**
 * The answer to one JIF request (HTTP_AND_CONFIG §2.3). Error texts are the reference's, which
 * clients match (case-insensitively) with patterns such as "message denied.*create".
 */
export type JifResult = { readonly success: boolean } & Readonly<Record<string, unknown>>;

export const SUCCESS: JifResult = Object.freeze({ success: true });

const ACTION_NAMES: Partial<Record<TOPIC, Readonly<Record<number, string>>>> = {
  [TOPIC.PARSER]: PARSER_ACTION,
  [TOPIC.EVENT]: EVENT_ACTION,
  [TOPIC.RECORD]: RECORD_ACTION,
  [TOPIC.RPC]: RPC_ACTION,
  [TOPIC.PRESENCE]: PRESENCE_ACTION,
};

const DENIALS = new Set<string>(['MESSAGE_DENIED']);

function actionName(topic: TOPIC, action: number | undefined): string {
  return (action !== undefined ? ACTION_NAMES[topic]?.[action] : undefined) ?? String(action);
}

/** Error actions are numbered from 100 in every topic; some still set `isError`. */
export function isErrorReply(reply: Message): boolean {
  return reply.isError === true || reply.action >= 100;
}

/** JSON text from the protocol, parsed; text that is not JSON is handed back as it is. */
export function parseData(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A permission denial, or any other error reply, in the reference's shape. */
export function errorResult(reply: Message): JifResult {
  const topic = reply.topic as TOPIC;
  const errorTopic = TOPIC[topic]?.toLowerCase() ?? String(topic);
  const action = actionName(topic, reply.action);
  if (DENIALS.has(action)) {
    return {
      errorTopic,
      errorEvent: reply.action,
      success: false,
      action: reply.originalAction,
      error: `Message denied. Action "${actionName(topic, reply.originalAction)}" is not permitted.`,
    };
  }
  const result: Record<string, unknown> = { errorTopic, errorEvent: reply.action, success: false, error: `An error occurred: ${action}.` };
  if (reply.name !== undefined) result.errorParams = reply.name;
  return result as JifResult;
}

/** Event emits are checked by the API itself, as the reference does, hence their own shape. */
export function emitDenied(verdict: AuthorizationVerdict): JifResult {
  return verdict.error === true
    ? { success: false, error: "Message permission error. Action 'emit' could not be checked.", errorEvent: 'MESSAGE_PERMISSION_ERROR', errorAction: 'emit', errorTopic: 'event' }
    : { success: false, error: "Message denied. Action 'emit' is not permitted.", errorEvent: 'MESSAGE_DENIED', errorAction: 'emit', errorTopic: 'event' };
}

export function recordNotFound(name: string): JifResult {
  return { errorTopic: 'record', errorEvent: RECORD_ACTION.RECORD_NOT_FOUND, success: false, error: `Record read failed. Record "${name}" could not be found.` };
}

/** VERSION_EXISTS and INVALID_VERSION carry the version and data the writer must reconcile with. */
export function versionRefused(reply: Message, requestedVersion: number): JifResult {
  const name = reply.name ?? '';
  const error =
    reply.action === RECORD_ACTION.VERSION_EXISTS
      ? `Record update failed. Version ${reply.version} exists for record "${name}".`
      : `Record update failed. Version ${requestedVersion} is not valid for record "${name}".`;
  return { errorTopic: 'record', errorEvent: reply.action, success: false, error, currentVersion: reply.version, currentData: parseData(reply.data) };
}

export function noRpcProvider(name: string): JifResult {
  return { errorTopic: 'rpc', errorEvent: RPC_ACTION.NO_RPC_PROVIDER, success: false, error: `No provider was available to handle the RPC "${name}".` };
}

export const RPC_RESPONSE_TIMEOUT: JifResult = Object.freeze({
  errorTopic: 'rpc',
  errorEvent: RPC_ACTION.RESPONSE_TIMEOUT,
  success: false,
  error: 'The RPC response timeout was exceeded by the provider.',
});

export function rpcProviderError(data: string | undefined): JifResult {
  return { errorTopic: 'rpc', success: false, error: parseData(data) };
}

export const REQUEST_TIMEOUT: JifResult = Object.freeze({
  success: false,
  error: 'Request exceeded timeout before a response was received.',
  errorTopic: 'connection',
  errorEvent: 'HTTP_REQUEST_TIMEOUT',
});

export const SHUTTING_DOWN: JifResult = Object.freeze({
  success: false,
  error: 'The server shut down before a response was received.',
  errorTopic: 'connection',
  errorEvent: 'HTTP_SERVER_SHUTDOWN',
});

export const INTERNAL_ERROR: JifResult = Object.freeze({ success: false, error: 'An internal error occurred.', errorTopic: 'connection', errorEvent: 'HTTP_INTERNAL_ERROR' });

const DROPPED = 'The message was dropped before it was handled (an inbound filter, such as a rate limit, refused it).';

/**
 * A message an `inbound` tap dropped. `reason` is the CONNECTION ERROR text the tap sent, if any;
 * a leading `CODE:` (e.g. `RATE_LIMIT_EXCEEDED: …`) becomes the errorEvent.
 */
export function messageDropped(reason?: unknown): JifResult {
  const error = typeof reason === 'string' && reason !== '' ? reason : DROPPED;
  const errorEvent = /^([A-Z][A-Z_]*):/.exec(error)?.[1] ?? 'MESSAGE_DROPPED';
  return { success: false, error, errorTopic: 'connection', errorEvent };
}

export const isRateLimited = (result: JifResult): boolean => result.errorEvent === 'RATE_LIMIT_EXCEEDED';
