import { Type, invalidOptions, optionDefaults, type Static } from '@deepstream-ts/core';

const positiveInteger = (value: number) => Type.Integer({ minimum: 1, default: value });

export const VALVE_OPTIONS = Type.Object({
  /** The permissions file (YAML or JSON), relative to the config file's directory. Reloaded on SIGHUP. */
  path: Type.Optional(Type.String({ minLength: 1, expected: 'a file name' })),
  /** The same rules inline, instead of a file: `{ record: {...}, event: {...}, rpc: {...}, presence: {...} }`. */
  permissions: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { expected: 'an object with the sections record, event, rpc and presence' })),
  /** Also reload the file when it changes on disk. */
  watch: Type.Boolean({ default: false }),
  /** Runs of one rule per check; every `_()` of a record not loaded yet costs a run (SECURITY §3.6). */
  maxRuleIterations: positiveInteger(3),
  /** ms: a cached rule selection unused for this long is dropped (SECURITY §3.3). */
  cacheEvacuationInterval: positiveInteger(60_000),
  /** Most cached rule selections; names come from clients, so the cache is bounded. */
  maxCachedSelections: positiveInteger(100_000),
  /** ms one record load for a rule (`oldData`, a patched `data`, `_()`) may take; then the check fails. */
  recordLoadTimeout: positiveInteger(5_000),
  /** Longest rule expression, in characters. */
  maxRuleLength: positiveInteger(4_096),
  /** Deepest nesting of a rule expression. */
  maxRuleDepth: positiveInteger(64),
});

export type ValveOptions = Static<typeof VALVE_OPTIONS>;

/** Every option at its default. */
export const VALVE_DEFAULTS = Object.freeze(optionDefaults(VALVE_OPTIONS) as ValveOptions);

/** Rules the schema cannot say: the rules come from one place, and only a file can be watched. */
export function checkRulesSource(plugin: string, options: ValveOptions): void {
  if ((options.path !== undefined) === (options.permissions !== undefined)) {
    throw invalidOptions(plugin, 'needs exactly one of the options "path" (a permissions.yml file) and "permissions" (the rules inline)');
  }
  if (options.watch && options.path === undefined) throw invalidOptions(plugin, 'option "watch" needs "path": inline rules have no file to watch');
}
