import { compileExpression, type CompiledExpression } from '../expression/compile.ts';
import type { ParseLimits } from '../expression/parse.ts';
import { ExpressionError } from '../expression/tokenize.ts';
import { compilePath, type CompiledPath } from './paths.ts';
import { RuleSet, type PathRule } from './ruleset.ts';
import { DATA_RULES, OLD_DATA_RULES, RULE_TYPES, SECTIONS, isRuleType, type RuleType, type Section } from './sections.ts';

/** One rule of permissions.yml, ready to be checked. */
export interface CompiledRule {
  readonly section: Section;
  readonly path: string;
  readonly type: RuleType;
  /** Where it is written, for logs: `permissions.yml:12 record "user/$id" write`. */
  readonly where: string;
  readonly rule: boolean | CompiledExpression;
}

/** Where the rules came from: a file name (or "inline permissions") and, for files, key lines. */
export interface RuleSource {
  readonly name: string;
  /** 1-based line of a key path such as `['record', 'user/$id', 'write']`, when known. */
  readonly lineOf?: (keys: readonly string[]) => number | undefined;
}

/** Rules that cannot be used, with every problem found (not just the first). */
export class PermissionsError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.length === 1 ? 'invalid permissions' : `${problems.length} problems`}:\n  ${problems.join('\n  ')}`);
  }
}

const isMapping = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Validates a permissions document (SECURITY §3.2) and compiles every rule. Throws
 * PermissionsError listing each problem with its file, line and rule path.
 */
export function compileRules(document: unknown, source: RuleSource, limits: ParseLimits): RuleSet {
  const problems: string[] = [];
  const at = (keys: readonly string[]): string => {
    const line = source.lineOf?.(keys);
    const [section, path, type] = keys;
    const rule = [section, path === undefined ? undefined : JSON.stringify(path), type].filter((part) => part !== undefined).join(' ');
    return `${source.name}${line === undefined ? '' : `:${line}`}${rule === '' ? '' : ` ${rule}`}`;
  };
  const problem = (keys: readonly string[], reason: string) => problems.push(`${at(keys)}: ${reason}`);

  if (!isMapping(document)) throw new PermissionsError(source.name, [`${source.name}: must be a mapping with the sections ${SECTIONS.join(', ')}`]);
  for (const key of Object.keys(document)) if (!(SECTIONS as string[]).includes(key)) problem([], `unknown section "${key}" (allowed: ${SECTIONS.join(', ')})`);

  const rules: PathRule[] = [];
  for (const section of SECTIONS) {
    const paths = document[section];
    if (paths === undefined) {
      problem([], `the section "${section}" is missing`);
      continue;
    }
    if (!isMapping(paths) || Object.keys(paths).length === 0) {
      problem([section], 'must be a non-empty mapping of paths to rules');
      continue;
    }
    if (!Object.hasOwn(paths, '*')) problem([section], 'must contain the root path "*"');
    for (const [path, types] of Object.entries(paths)) {
      const compiled = compilePath(path);
      if (typeof compiled === 'string') {
        problem([section, path], compiled);
        continue;
      }
      if (!isMapping(types) || Object.keys(types).length === 0) {
        problem([section, path], `must be a non-empty mapping of rule types (${RULE_TYPES[section].join(', ')}) to rules`);
        continue;
      }
      for (const [type, value] of Object.entries(types)) {
        const keys = [section, path, type];
        if (!isRuleType(section, type)) {
          problem(keys, `unknown rule type "${type}" for ${section} (allowed: ${RULE_TYPES[section].join(', ')})`);
          continue;
        }
        const rule = compileRule(value, type, compiled, limits);
        if (typeof rule === 'string') problem(keys, rule);
        else rules.push({ path, compiled, order: rules.length, rule: { section, path, type, where: at(keys), rule } });
      }
    }
  }
  if (problems.length > 0) throw new PermissionsError(source.name, problems);
  return new RuleSet(rules);
}

function compileRule(value: unknown, type: RuleType, path: CompiledPath, limits: ParseLimits): boolean | CompiledExpression | string {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return `a rule must be true, false or an expression string, not ${value === null ? 'null' : typeof value}`;
  let expression: CompiledExpression;
  try {
    expression = compileExpression(value, new Set(path.variables), limits);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    return `${error.message} (at character ${error.pos + 1} of ${JSON.stringify(excerpt(value))})`;
  }
  if (expression.usage.data && !DATA_RULES.has(type)) return `"data" cannot be used in a ${type} rule (only in ${[...DATA_RULES].join(', ')})`;
  if (expression.usage.oldData && !OLD_DATA_RULES.has(type)) return `"oldData" cannot be used in a ${type} rule (only in ${[...OLD_DATA_RULES].join(', ')})`;
  return expression;
}

/** Rules in error messages: long ones are cut, so that a huge rule does not flood the log. */
function excerpt(text: string): string {
  return text.length <= 200 ? text : `${text.slice(0, 200)}…`;
}
