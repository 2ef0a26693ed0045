import type { CompiledRule } from './compile.ts';
import { matchPath, type CompiledPath } from './paths.ts';
import type { RuleType, Section } from './sections.ts';

export interface PathRule {
  readonly path: string;
  readonly compiled: CompiledPath;
  /** Position in the file: on equal path length the later rule wins. */
  readonly order: number;
  readonly rule: CompiledRule;
}

/** The rule that decides a name, with the values of its path variables. */
export interface Selection {
  readonly rule: CompiledRule;
  readonly variables: ReadonlyMap<string, string>;
}

/**
 * Compiled permissions: per section and rule type, the paths that define that rule type, most
 * specific first (SECURITY §3.3: longest path string; on equal length the later one in the file).
 */
export class RuleSet {
  private readonly candidates = new Map<string, PathRule[]>();
  /** Whether any rule reads other records with `_()` (which needs the `recordReader` service). */
  readonly readsRecords: boolean;

  constructor(rules: readonly PathRule[]) {
    let readsRecords = false;
    for (const entry of rules) {
      const key = keyOf(entry.rule.section, entry.rule.type);
      let list = this.candidates.get(key);
      if (list === undefined) this.candidates.set(key, (list = []));
      list.push(entry);
      const { rule } = entry.rule;
      if (typeof rule !== 'boolean' && rule.usage.crossReferences) readsRecords = true;
    }
    for (const list of this.candidates.values()) list.sort((a, b) => b.path.length - a.path.length || b.order - a.order);
    this.readsRecords = readsRecords;
  }

  /** The most specific rule of this type whose path matches `name`; undefined means deny. */
  select(section: Section, type: RuleType, name: string): Selection | undefined {
    for (const candidate of this.candidates.get(keyOf(section, type)) ?? []) {
      const variables = matchPath(candidate.compiled, name);
      if (variables !== undefined) return { rule: candidate.rule, variables };
    }
    return undefined;
  }
}

const keyOf = (section: Section, type: RuleType) => `${section}.${type}`;
