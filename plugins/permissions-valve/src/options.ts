export interface ValveOptions {
  /** The permissions file (YAML or JSON), relative to the config file's directory. Reloaded on SIGHUP. */
  path: string | undefined;
  /** The same rules inline, instead of a file: `{ record: {...}, event: {...}, rpc: {...}, presence: {...} }`. */
  permissions: Record<string, unknown> | undefined;
  /** Also reload the file when it changes on disk. */
  watch: boolean;
  /** Runs of one rule per check; every `_()` of a record not loaded yet costs a run (SECURITY §3.6). */
  maxRuleIterations: number;
  /** ms: a cached rule selection unused for this long is dropped (SECURITY §3.3). */
  cacheEvacuationInterval: number;
  /** Most cached rule selections; names come from clients, so the cache is bounded. */
  maxCachedSelections: number;
  /** ms one record load for a rule (`oldData`, a patched `data`, `_()`) may take; then the check fails. */
  recordLoadTimeout: number;
  /** Longest rule expression, in characters. */
  maxRuleLength: number;
  /** Deepest nesting of a rule expression. */
  maxRuleDepth: number;
}

export const VALVE_DEFAULTS: ValveOptions = {
  path: undefined,
  permissions: undefined,
  watch: false,
  maxRuleIterations: 3,
  cacheEvacuationInterval: 60_000,
  maxCachedSelections: 100_000,
  recordLoadTimeout: 5_000,
  maxRuleLength: 4_096,
  maxRuleDepth: 64,
};

/** Fails setup with a message naming the option. */
export function checkOptions(options: ValveOptions): void {
  const hasPath = options.path !== undefined;
  const hasInline = options.permissions !== undefined;
  if (hasPath === hasInline) {
    throw new TypeError('permissions-valve needs exactly one of the options "path" (a permissions.yml file) and "permissions" (the rules inline)');
  }
  if (hasPath && (typeof options.path !== 'string' || options.path === '')) throw new TypeError(`permissions-valve option "path" must be a file name, got ${JSON.stringify(options.path)}`);
  if (hasInline && (typeof options.permissions !== 'object' || options.permissions === null)) {
    throw new TypeError('permissions-valve option "permissions" must be an object with the sections record, event, rpc and presence');
  }
  if (typeof options.watch !== 'boolean') throw new TypeError(`permissions-valve option "watch" must be a boolean, got ${JSON.stringify(options.watch)}`);
  if (options.watch && !hasPath) throw new TypeError('permissions-valve option "watch" needs "path": inline rules have no file to watch');
  for (const key of ['maxRuleIterations', 'cacheEvacuationInterval', 'maxCachedSelections', 'recordLoadTimeout', 'maxRuleLength', 'maxRuleDepth'] as const) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`permissions-valve option "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
}
