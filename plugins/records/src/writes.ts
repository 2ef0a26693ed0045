import { RECORD_ACTION, type Message, type Session } from '@deepstream-ts/core';
import { exceedsDepth } from './json-depth.ts';
import { parsePath, type PathLimits } from './json-path.ts';
import type { Write } from './write-queue.ts';

export type WriteAction =
  | RECORD_ACTION.UPDATE
  | RECORD_ACTION.PATCH
  | RECORD_ACTION.ERASE
  | RECORD_ACTION.CREATEANDUPDATE
  | RECORD_ACTION.CREATEANDPATCH;

export const WRITE_ACTIONS = new Set<number>([
  RECORD_ACTION.UPDATE,
  RECORD_ACTION.PATCH,
  RECORD_ACTION.ERASE,
  RECORD_ACTION.CREATEANDUPDATE,
  RECORD_ACTION.CREATEANDPATCH,
]);

/** Why a write was refused before it reached the queue, and the reply action the spec names. */
export interface Refusal {
  readonly action: RECORD_ACTION.INVALID_MESSAGE_DATA | RECORD_ACTION.INVALID_VERSION;
  readonly reason: string;
}

/** What a write is checked against before it is queued. */
export interface WriteLimits extends PathLimits {
  readonly maxDataDepth: number;
}

/**
 * Turns a client write into a queue step (RECORDS §4, §6): normalised to UPDATE or PATCH, data
 * parsed once, path tokenised once, upsert and ack flags settled. `writeQueued`: a write to the
 * same record is already queued (setData then needs no `create`, SECURITY §3.4).
 */
export function parseWrite(session: Session, request: Message, limits: WriteLimits, writeQueued: boolean): Write | Refusal {
  const action = request.action as WriteAction;
  const name = request.name as string;
  const { version } = request;
  if (version === undefined) return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: 'write without a version' };
  if (version < -1) return { action: RECORD_ACTION.INVALID_VERSION, reason: `version ${version} is below -1` };

  const hasPath = request.path !== undefined;
  if ((action === RECORD_ACTION.PATCH || action === RECORD_ACTION.ERASE || action === RECORD_ACTION.CREATEANDPATCH) && !hasPath) {
    return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: 'patch without a path' };
  }
  let path: Write['path'];
  if (hasPath) {
    const tokens = parsePath(request.path as string, limits);
    if (typeof tokens === 'string') return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: `invalid path: ${tokens}` };
    path = { text: request.path as string, tokens };
  }

  // ERASE, and PATCH without data, delete the path (RECORDS §4).
  let value: unknown;
  const dataText = action === RECORD_ACTION.ERASE ? undefined : request.data;
  if (dataText !== undefined) {
    const depthLeft = limits.maxDataDepth - (path?.tokens.length ?? 0);
    if (exceedsDepth(dataText, depthLeft)) {
      return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: `data nests deeper than maxDataDepth (${limits.maxDataDepth})` };
    }
    try {
      value = JSON.parse(dataText);
    } catch {
      return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: 'data is not valid JSON' };
    }
  }
  if (path === undefined && (value === null || typeof value !== 'object')) {
    return { action: RECORD_ACTION.INVALID_MESSAGE_DATA, reason: 'record data must be a JSON object or array' };
  }

  const isCreate = action === RECORD_ACTION.CREATEANDUPDATE || action === RECORD_ACTION.CREATEANDPATCH;
  return {
    session,
    request,
    name,
    action: path === undefined ? RECORD_ACTION.UPDATE : RECORD_ACTION.PATCH,
    version,
    path,
    value,
    dataText,
    upsert: isCreate || request.isWriteAck === true,
    checkCreate: isCreate && !writeQueued,
    writeAck: request.isWriteAck === true,
    correlationId: request.correlationId,
  };
}

export const isRefusal = (result: Write | Refusal): result is Refusal => !('session' in result);
