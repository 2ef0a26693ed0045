import { resolve } from 'node:path';
import { definePlugin, type Services } from '@deepstream-ts/core';
import type { ParseLimits } from './expression/parse.ts';
import type { RecordReader } from './facts.ts';
import { VALVE_DEFAULTS, VALVE_OPTIONS, checkRulesSource, type ValveOptions } from './options.ts';
import { RulesReloader } from './reload.ts';
import { PermissionsError } from './rules/compile.ts';
import { compileInlineRules, loadRulesFile } from './rules/load.ts';
import { Valve } from './valve.ts';

/** Reloading the rules from their file, for an admin endpoint or tests. */
export interface PermissionsService {
  /** Resolves true when the file compiled and its rules are in force; false keeps the old rules. */
  reload(): Promise<boolean>;
}

/**
 * Valve permissions (SECURITY §3): deepstream's permissions.yml, unchanged, decides every request
 * the feature plugins put to the `authorize` hook. Rules are compiled to syntax trees once and run
 * by an interpreter over an allow-list: no rule text is ever evaluated as JavaScript.
 */
/**
 * The records plugin's service, of which the rules read one method (RecordReader). Named through
 * core's Services rather than the records package's own declaration of it, so that this package
 * builds and installs without depending on the records package.
 */
const RECORDS = 'records' as keyof Services;

export const permissionsValve = definePlugin<ValveOptions>({
  package: import.meta.url,
  provides: ['permissions'],
  needs: { [RECORDS]: 'optional' },
  options: VALVE_OPTIONS,
  async setup(ctx) {
    const options = ctx.options;
    checkRulesSource(ctx.name, options);
    const limits: ParseLimits = { maxLength: options.maxRuleLength, maxDepth: options.maxRuleDepth };
    const file = options.path === undefined ? undefined : resolve(ctx.config.baseDir, options.path);
    const rules = file === undefined ? compileInlineRules(options.permissions, limits) : await loadRulesFile(file, limits);
    // A declared optional need: the records plugin, when configured, is set up before this one.
    const records = ctx.find(RECORDS) as RecordReader | undefined;
    if (rules.readsRecords && records === undefined) {
      ctx.log.warn("some permission rules read records (oldData, _() or a record write's data) but no records plugin is configured: they will fail");
    }
    const valve = new Valve(rules, options, ctx.log, records);
    ctx.onClose(() => valve.close());
    ctx.hooks.authorize.tapPromise(ctx.name, (request) => valve.decide(request));

    let reloader: RulesReloader | undefined;
    if (file !== undefined) {
      reloader = new RulesReloader(file, limits, (next) => valve.replace(next), ctx.log);
      reloader.start(options.watch);
      ctx.onClose(() => reloader!.close());
    }
    ctx.provide('permissions', {
      reload: () => (reloader === undefined ? Promise.resolve(false) : reloader.reload('reload()')),
    });
    ctx.log.info({ source: file ?? 'inline permissions', watch: options.watch }, 'permissions loaded');
  },
});

declare module '@deepstream-ts/core' {
  interface Services {
    /** The permissions-valve plugin: reload its rules file. */
    permissions: PermissionsService;
  }
}

export default permissionsValve;
export { PermissionsError, VALVE_DEFAULTS, type ValveOptions };
export { compileExpression, type CompiledExpression } from './expression/compile.ts';
export { ExpressionError } from './expression/tokenize.ts';
