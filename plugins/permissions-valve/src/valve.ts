import { ALLOWED, type AuthorizationRequest, type AuthorizationVerdict, type Logger, type RecordReader, type Session } from '@deepstream-ts/core';
import type { CompiledExpression } from './expression/compile.ts';
import { NeedsRecord, RuleError, evaluate, type Scope } from './expression/evaluate.ts';
import { Facts } from './facts.ts';
import type { CompiledRule } from './rules/compile.ts';
import type { RuleSet, Selection } from './rules/ruleset.ts';
import { SelectionCache } from './rules/selection-cache.ts';
import { RULE_TYPES, isRuleType, type RuleType, type Section } from './rules/sections.ts';

/** Which rule decides a request: the section is the request's resource, the rule type its permission. */
interface Subject {
  readonly section: Section;
  readonly type: RuleType;
}

const DENIED: AuthorizationVerdict = Object.freeze({ allowed: false });
const FAILED: AuthorizationVerdict = Object.freeze({ allowed: false, error: true });

/** The anonymous id of open authentication: the one user rules treat as not authenticated (SECURITY §2.1). */
const ANONYMOUS = 'open';

/** Requests nobody maps are logged once each; their variety is bounded by the plugins that ask. */
const MAX_REPORTED_REQUESTS = 100;

export interface ValveSettings {
  /** Runs of one rule per check; each `_()` of a record not loaded yet costs one (SECURITY §3.6). */
  readonly maxRuleIterations: number;
  /** Milliseconds one record load for a rule may take. */
  readonly recordLoadTimeout: number;
  readonly cacheEvacuationInterval: number;
  readonly maxCachedSelections: number;
}

/**
 * Decides permission requests with the compiled rules: selects the most specific rule, loads what
 * it reads, runs it. Only `true` allows; `false` and any other value deny; a rule that fails denies
 * with an error (MESSAGE_PERMISSION_ERROR), logged once per rule.
 */
export class Valve {
  private readonly cache: SelectionCache;
  private readonly failedRules = new WeakSet<CompiledRule>();
  private readonly nonBooleanRules = new WeakSet<CompiledRule>();
  private readonly unmappedRequests = new Set<string>();

  constructor(
    private rules: RuleSet,
    private readonly settings: ValveSettings,
    private readonly log: Logger,
    /** For `_()`: the `recordReader` service, when a plugin provides it. */
    private readonly records: RecordReader | undefined,
  ) {
    this.cache = new SelectionCache(settings.cacheEvacuationInterval, settings.maxCachedSelections);
  }

  /** New rules take effect for the next request; checks already running finish with the old ones. */
  replace(rules: RuleSet): void {
    this.rules = rules;
    this.cache.clear();
  }

  close(): void {
    this.cache.close();
  }

  async decide(request: AuthorizationRequest): Promise<AuthorizationVerdict> {
    const subject = subjectOf(request);
    if (subject === undefined) {
      this.reportUnmapped(request);
      return DENIED;
    }
    const selection = this.select(subject, request.name);
    if (selection === undefined) return DENIED; // no rule: deny
    const { rule } = selection.rule;
    if (typeof rule === 'boolean') return rule ? ALLOWED : DENIED;
    let result: unknown;
    try {
      result = await this.run(rule, selection, subject, request);
    } catch (error) {
      this.reportFailure(selection.rule, error);
      return FAILED;
    }
    if (result === true) return ALLOWED;
    if (result !== false) this.reportNonBoolean(selection.rule, result);
    return DENIED;
  }

  private select(subject: Subject, name: string): Selection | undefined {
    const key = `${subject.section}\u0000${subject.type}\u0000${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const selection = this.rules.select(subject.section, subject.type, name);
    this.cache.set(key, selection ?? null);
    return selection;
  }

  private async run(expression: CompiledExpression, selection: Selection, subject: Subject, request: AuthorizationRequest): Promise<unknown> {
    const { usage } = expression;
    const facts = new Facts(request, usage.crossReferences ? this.records : undefined, this.settings.recordLoadTimeout);
    const loaded = new Map<string, unknown>();
    const scope: Scope = {
      user: userOf(request.session),
      data: usage.data ? await facts.data() : undefined,
      oldData: usage.oldData ? await facts.oldData() : undefined,
      now: Date.now(),
      action: request.action,
      name: request.name,
      variables: selection.variables,
      crossReference(name) {
        if (loaded.has(name)) return loaded.get(name);
        throw new NeedsRecord(name);
      },
    };
    // Each record a rule refers to that is not loaded yet stops the run; it is loaded and the rule
    // runs again. The number of runs bounds the loads a single check can cause.
    for (let runs = 1; ; runs++) {
      try {
        return evaluate(expression.ast, scope);
      } catch (error) {
        if (!(error instanceof NeedsRecord)) throw error;
        if (runs >= this.settings.maxRuleIterations) {
          throw new RuleError(`the rule needs more than ${this.settings.maxRuleIterations} runs (maxRuleIterations) to load the records it refers to`);
        }
        loaded.set(error.name, await facts.record(error.name));
      }
    }
  }

  private reportFailure(rule: CompiledRule, error: unknown): void {
    if (this.failedRules.has(rule)) return;
    this.failedRules.add(rule);
    const reason = error instanceof Error ? error.message : String(error);
    this.log.warn({ rule: rule.where, reason }, `permission rule failed, requests it decides are denied with MESSAGE_PERMISSION_ERROR (logged once per rule): ${reason}`);
  }

  private reportNonBoolean(rule: CompiledRule, result: unknown): void {
    if (this.nonBooleanRules.has(rule)) return;
    this.nonBooleanRules.add(rule);
    const type = result === null ? 'null' : Array.isArray(result) ? 'an array' : typeof result;
    this.log.warn({ rule: rule.where, result: type }, `permission rule returned ${type} instead of true or false: denied (logged once per rule)`);
  }

  private reportUnmapped(request: AuthorizationRequest): void {
    const { resource, permission } = request;
    const key = `${resource}\u0000${permission}`;
    if (this.unmappedRequests.has(key) || this.unmappedRequests.size >= MAX_REPORTED_REQUESTS) return;
    this.unmappedRequests.add(key);
    this.log.warn({ resource, permission }, 'no section and rule type of permissions.yml apply to this request: denied');
  }
}

/** The rule a request asks for, or undefined when permissions.yml has no such section and rule type (then: deny). */
function subjectOf(request: AuthorizationRequest): Subject | undefined {
  const { resource, permission } = request;
  if (!isSection(resource) || !isRuleType(resource, permission)) return undefined;
  return { section: resource, type: permission };
}

function isSection(resource: string): resource is Section {
  return Object.hasOwn(RULE_TYPES, resource);
}

function userOf(session: Session): Scope['user'] {
  const id = session.userId;
  return { id, isAuthenticated: id !== ANONYMOUS, data: session.serverData ?? null };
}
