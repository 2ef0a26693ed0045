import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type AuthorizationRequest } from '@deepstream-ts/core';
import { isRuleType, type RuleType, type Section } from './rules/sections.ts';

/** Which rule decides a request, and the action number the rule sees as `action`. */
export interface Subject {
  readonly section: Section;
  readonly type: RuleType;
  readonly action: number;
}

const SECTION_OF: Partial<Record<number, Section>> = {
  [TOPIC.RECORD]: 'record',
  [TOPIC.EVENT]: 'event',
  [TOPIC.RPC]: 'rpc',
  [TOPIC.PRESENCE]: 'presence',
};

/** The rule type implied by the message action alone (SECURITY §3.4). */
const IMPLIED: Record<Section, ReadonlyMap<number, RuleType>> = {
  record: new Map<number, RuleType>([
    [RECORD_ACTION.SUBSCRIBE, 'read'],
    [RECORD_ACTION.SUBSCRIBEANDHEAD, 'read'],
    [RECORD_ACTION.SUBSCRIBEANDREAD, 'read'],
    [RECORD_ACTION.READ, 'read'],
    [RECORD_ACTION.HEAD, 'read'],
    [RECORD_ACTION.UPDATE, 'write'],
    [RECORD_ACTION.PATCH, 'write'],
    [RECORD_ACTION.ERASE, 'delete'],
    [RECORD_ACTION.DELETE, 'delete'],
    [RECORD_ACTION.LISTEN, 'listen'],
    [RECORD_ACTION.NOTIFY, 'notify'],
  ]),
  event: new Map<number, RuleType>([
    [EVENT_ACTION.EMIT, 'publish'],
    [EVENT_ACTION.SUBSCRIBE, 'subscribe'],
    [EVENT_ACTION.LISTEN, 'listen'],
  ]),
  rpc: new Map<number, RuleType>([
    [RPC_ACTION.PROVIDE, 'provide'],
    [RPC_ACTION.REQUEST, 'request'],
  ]),
  presence: new Map<number, RuleType>([
    [PRESENCE_ACTION.SUBSCRIBE, 'allow'],
    [PRESENCE_ACTION.QUERY, 'allow'],
    [PRESENCE_ACTION.SUBSCRIBE_ALL, 'allow'],
    [PRESENCE_ACTION.QUERY_ALL, 'allow'],
  ]),
};

const CREATING = new Set<number>([RECORD_ACTION.CREATEANDUPDATE, RECORD_ACTION.CREATEANDPATCH]);

/** Resolves a request to its rule, or undefined when no rule can decide it (then: deny). */
export function subjectOf(request: AuthorizationRequest): Subject | undefined {
  const { topic, action } = request.message;
  const section = SECTION_OF[topic];
  if (section === undefined) return undefined;
  const type = request.permission ?? IMPLIED[section].get(action);
  if (type === undefined || !isRuleType(section, type)) return undefined;
  return { section, type, action: section === 'record' ? secondStageAction(action, type) : action };
}

/**
 * Record checks made on behalf of a compound action see the action of their stage (SECURITY §3.5):
 * CREATE for `create`, READ for the `read` of a creating subscription, UPDATE for the `write` of setData.
 */
function secondStageAction(action: number, type: RuleType): number {
  if (type === 'create') return RECORD_ACTION.CREATE;
  if (type === 'read' && action === RECORD_ACTION.SUBSCRIBECREATEANDREAD) return RECORD_ACTION.READ;
  if (type === 'write' && CREATING.has(action)) return RECORD_ACTION.UPDATE;
  return action;
}
