import { EVENT_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type Logger, type Message, type Session } from '@deepstream-ts/core';
import type { Operators } from './operators.ts';

/** What an operator does that is logged: the writes and calls, not the reads and subscriptions. */
const LOGGED: Partial<Record<TOPIC, ReadonlySet<number>>> = {
  [TOPIC.EVENT]: new Set([EVENT_ACTION.EMIT]),
  [TOPIC.RECORD]: new Set([RECORD_ACTION.UPDATE, RECORD_ACTION.PATCH, RECORD_ACTION.ERASE, RECORD_ACTION.CREATEANDUPDATE, RECORD_ACTION.CREATEANDPATCH, RECORD_ACTION.DELETE]),
  [TOPIC.RPC]: new Set([RPC_ACTION.REQUEST]),
};
const ACTION_NAMES: Partial<Record<TOPIC, Record<number, string>>> = { [TOPIC.EVENT]: EVENT_ACTION, [TOPIC.RECORD]: RECORD_ACTION, [TOPIC.RPC]: RPC_ACTION };
const MAX_LOGGED_DATA = 500;

/**
 * One `operator action` line per write, emit or call of an operator session, on the node it is
 * connected to (the node the request reaches may be another: RPC providers never learn who called).
 */
export function actionLog(log: Logger, operators: Operators): (session: Session, message: Message) => void {
  return (session, message) => {
    if (LOGGED[message.topic as TOPIC]?.has(message.action) !== true) return;
    const action = ACTION_NAMES[message.topic as TOPIC]?.[message.action];
    const data = message.data !== undefined && message.data.length > MAX_LOGGED_DATA ? `${message.data.slice(0, MAX_LOGGED_DATA)}…` : message.data;
    log.info({ operator: operators.identity(session), session: session.id, topic: TOPIC[message.topic], action, name: message.name, path: message.path, data }, 'operator action');
  };
}
