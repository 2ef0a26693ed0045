import { CONNECTION_ACTION, TOPIC, type Logger } from '@deepstream-ts/core';
import type { Agent } from './agent.ts';
import { HELLO_RPC, disconnectRpc, sessionsRpc } from './names.ts';
import type { SessionTable } from './sessions.ts';

const MAX_REASON = 200;

export interface RpcContext {
  readonly serverName: string;
  readonly interval: number;
  readonly maxSessionsListed: number;
  readonly sessions: SessionTable;
  readonly log: Logger;
}

/** The console's RPCs, answered by this node's agent: hello, and this node's sessions and disconnect. */
export function provideRpcs(agent: Agent, { serverName, interval, maxSessionsListed, sessions, log }: RpcContext): void {
  agent.answer(HELLO_RPC, () => ({ server: serverName, interval }));

  agent.answer(sessionsRpc(serverName), (data) => {
    const query = (data as { query?: unknown } | null)?.query;
    return { server: serverName, ...sessions.search(typeof query === 'string' ? query : '', maxSessionsListed) };
  });

  agent.answer(disconnectRpc(serverName), (data) => {
    const { session: id, reason } = (typeof data === 'object' && data !== null ? data : {}) as { session?: unknown; reason?: unknown };
    if (typeof id !== 'string') throw new Error('disconnect needs { session: "<id>", reason?: "<text>" }');
    const target = sessions.find(id);
    if (target === undefined) throw new Error(`no session ${id} on ${serverName} (it may have left already)`);
    const why = typeof reason === 'string' && reason.trim() !== '' ? reason.trim().slice(0, MAX_REASON) : 'no reason given';
    log.warn({ session: id, user: target.userId, remoteAddress: target.info.remoteAddress, reason: why }, 'session disconnected from the console');
    // One CONNECTION ERROR with the reason, then a clean close. The data is JSON (a string): the
    // official client parses every message's data and throws on anything else.
    target.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ERROR, isError: true, data: JSON.stringify(`DISCONNECTED_BY_OPERATOR: ${why}`) });
    target.close();
    return { disconnected: id, user: target.userId ?? null };
  });
}
