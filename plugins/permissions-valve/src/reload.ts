import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@deepstream-ts/core';
import type { ParseLimits } from './expression/parse.ts';
import { PermissionsError } from './rules/compile.ts';
import { loadRulesFile } from './rules/load.ts';
import type { RuleSet } from './rules/ruleset.ts';

/** Editors write a file in several steps; one reload after the last. */
const WATCH_SETTLE_MS = 100;

/**
 * Reloads the permissions file on SIGHUP (and, with `watch`, when it changes). New rules replace
 * the old ones only if the whole file compiles; otherwise the rules in force stay and the log says
 * why. Connections are untouched either way.
 */
export class RulesReloader {
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  private readonly onSignal = () => void this.reload('SIGHUP');

  constructor(
    private readonly file: string,
    private readonly limits: ParseLimits,
    private readonly apply: (rules: RuleSet) => void,
    private readonly log: Logger,
  ) {}

  start(watchFile: boolean): void {
    process.on('SIGHUP', this.onSignal);
    if (!watchFile) return;
    // The directory, not the file: editors and deploy tools replace files by renaming over them.
    this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== basename(this.file)) return;
      clearTimeout(this.settle);
      this.settle = setTimeout(() => void this.reload('file change'), WATCH_SETTLE_MS);
    });
    this.watcher.on('error', (error) => this.log.error({ err: error, file: this.file }, 'cannot watch the permissions file; reload with SIGHUP'));
  }

  /** Reloads now; resolves true when the new rules are in force. Reloads run one at a time. */
  reload(trigger: string): Promise<boolean> {
    const run = this.queue.then(() => this.load(trigger));
    this.queue = run;
    return run;
  }

  close(): void {
    process.off('SIGHUP', this.onSignal);
    clearTimeout(this.settle);
    this.watcher?.close();
  }

  private async load(trigger: string): Promise<boolean> {
    try {
      this.apply(await loadRulesFile(this.file, this.limits));
      this.log.info({ file: this.file, trigger }, 'permissions reloaded');
      return true;
    } catch (error) {
      const problems = error instanceof PermissionsError ? error.problems : [String(error)];
      this.log.error({ file: this.file, trigger, problems }, `permissions reload failed, the previous rules stay in force:\n  ${problems.join('\n  ')}`);
      return false;
    }
  }
}
