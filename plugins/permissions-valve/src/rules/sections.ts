/** The sections of permissions.yml and the rule types each allows (SECURITY §3.2). */
export const RULE_TYPES = {
  record: ['create', 'read', 'write', 'delete', 'listen', 'notify'],
  event: ['publish', 'subscribe', 'listen'],
  rpc: ['provide', 'request'],
  presence: ['allow'],
} as const;

export type Section = keyof typeof RULE_TYPES;
export type RuleType = (typeof RULE_TYPES)[Section][number];

export const SECTIONS = Object.keys(RULE_TYPES) as Section[];

/** Rule types whose checks carry a payload (`data`), and those that concern a stored record (`oldData`). */
export const DATA_RULES: ReadonlySet<string> = new Set(['write', 'publish', 'subscribe', 'request']);
export const OLD_DATA_RULES: ReadonlySet<string> = new Set(['read', 'write', 'delete']);

export function isRuleType(section: Section, type: string): type is RuleType {
  return (RULE_TYPES[section] as readonly string[]).includes(type);
}
