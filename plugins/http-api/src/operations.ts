import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import type { JifRequest } from './jif.ts';
import {
  RPC_RESPONSE_TIMEOUT,
  SUCCESS,
  errorResult,
  isErrorReply,
  noRpcProvider,
  parseData,
  recordNotFound,
  rpcProviderError,
  versionRefused,
  type JifResult,
} from './results.ts';

/**
 * One JIF request as the protocol message a WebSocket client would send, and how to read the
 * replies that answer it. Every message carries a correlationId of its own: plugins echo it on
 * errors and acks. Replies that never carry one are matched by topic, name and action instead.
 */
export interface Operation {
  readonly message: Message;
  /** Reply actions that answer this request without echoing its correlationId. */
  readonly uncorrelated: ReadonlySet<number>;
  /**
   * The protocol sends nothing when it succeeds (event emit): it has succeeded once handled,
   * unless an error came back meanwhile.
   */
  readonly silentOnSuccess: boolean;
  /** The result `reply` carries, or undefined when the request is not finished yet (RPC ACCEPT). */
  settle(reply: Message): JifResult | undefined;
}

const NONE: ReadonlySet<number> = new Set();

export function toOperation(request: JifRequest, correlationId: string): Operation {
  switch (request.kind) {
    case 'emit': {
      const message: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: request.eventName, correlationId };
      if (request.data !== undefined) message.data = JSON.stringify(request.data);
      return { message, uncorrelated: new Set([EVENT_ACTION.INVALID_MESSAGE_DATA]), silentOnSuccess: true, settle: errorsOnly };
    }
    case 'make': {
      const message: Message = { topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: request.rpcName, correlationId };
      if (request.data !== undefined) message.data = JSON.stringify(request.data);
      return { message, uncorrelated: NONE, silentOnSuccess: false, settle: (reply) => settleRpc(reply, request.rpcName) };
    }
    case 'read':
      return record(RECORD_ACTION.READ, request.recordName, correlationId, RECORD_ACTION.READ_RESPONSE, (reply) => ({
        success: true,
        version: reply.version,
        data: parseData(reply.data),
      }));
    case 'head':
      return record(RECORD_ACTION.HEAD, request.recordName, correlationId, RECORD_ACTION.HEAD_RESPONSE, (reply) => ({ success: true, version: reply.version }));
    case 'delete':
      return record(RECORD_ACTION.DELETE, request.recordName, correlationId, RECORD_ACTION.DELETE_SUCCESS, () => SUCCESS);
    case 'write':
      return write(request, correlationId);
    case 'notify': {
      const message: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.NOTIFY, names: [...request.recordNames], correlationId };
      return { message, uncorrelated: NONE, silentOnSuccess: false, settle: (reply) => (reply.isAck === true ? SUCCESS : errorsOnly(reply)) };
    }
    case 'query':
      return query(request.names, correlationId);
  }
}

/** Replies that are not errors do not finish the request. */
function errorsOnly(reply: Message): JifResult | undefined {
  return isErrorReply(reply) ? errorResult(reply) : undefined;
}

/** READ, HEAD and DELETE: `answer` reads the success reply, which carries the name but no correlationId. */
function record(action: RECORD_ACTION, name: string, correlationId: string, success: RECORD_ACTION, answer: (reply: Message) => JifResult): Operation {
  return {
    message: { topic: TOPIC.RECORD, action, name, correlationId },
    uncorrelated: new Set([success]),
    silentOnSuccess: false,
    settle: (reply) => {
      if (reply.action === success) return answer(reply);
      return reply.action === RECORD_ACTION.RECORD_NOT_FOUND ? recordNotFound(name) : errorsOnly(reply);
    },
  };
}

/** setData with an acknowledgement: CREATEANDUPDATE, or CREATEANDPATCH for a path (RECORDS §6). */
function write(request: Extract<JifRequest, { kind: 'write' }>, correlationId: string): Operation {
  const { recordName: name, path, version } = request;
  const message: Message = {
    topic: TOPIC.RECORD,
    action: path === undefined ? RECORD_ACTION.CREATEANDUPDATE : RECORD_ACTION.CREATEANDPATCH,
    name,
    version,
    data: JSON.stringify(request.data),
    isWriteAck: true,
    correlationId,
  };
  if (path !== undefined) message.path = path;
  return {
    message,
    // A storage failure after the write was applied is reported by name only.
    uncorrelated: new Set([RECORD_ACTION.RECORD_UPDATE_ERROR]),
    silentOnSuccess: false,
    settle: (reply) => {
      switch (reply.action) {
        case RECORD_ACTION.WRITE_ACKNOWLEDGEMENT:
          return SUCCESS;
        case RECORD_ACTION.VERSION_EXISTS:
        case RECORD_ACTION.INVALID_VERSION:
          return versionRefused(reply, version);
        default:
          return errorsOnly(reply);
      }
    },
  };
}

/** QUERY_ALL without names (its reply carries no correlationId), QUERY with them. */
function query(names: readonly string[] | undefined, correlationId: string): Operation {
  if (names === undefined) {
    return {
      message: { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL, correlationId },
      uncorrelated: new Set([PRESENCE_ACTION.QUERY_ALL_RESPONSE]),
      silentOnSuccess: false,
      settle: (reply) => (reply.action === PRESENCE_ACTION.QUERY_ALL_RESPONSE ? { success: true, users: reply.names ?? [] } : errorsOnly(reply)),
    };
  }
  return {
    message: { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, names: [...names], correlationId },
    uncorrelated: NONE,
    silentOnSuccess: false,
    settle: (reply) => (reply.action === PRESENCE_ACTION.QUERY_RESPONSE ? { success: true, users: parseData(reply.data) ?? {} } : errorsOnly(reply)),
  };
}

function settleRpc(reply: Message, name: string): JifResult | undefined {
  switch (reply.action) {
    case RPC_ACTION.ACCEPT:
      return undefined;
    case RPC_ACTION.RESPONSE: {
      const data = parseData(reply.data);
      return data === undefined ? SUCCESS : { success: true, data };
    }
    case RPC_ACTION.REQUEST_ERROR:
      return rpcProviderError(reply.data);
    case RPC_ACTION.NO_RPC_PROVIDER:
      return noRpcProvider(name);
    case RPC_ACTION.RESPONSE_TIMEOUT:
      return RPC_RESPONSE_TIMEOUT;
    default:
      return errorsOnly(reply);
  }
}
