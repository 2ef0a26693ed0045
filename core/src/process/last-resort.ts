import { fileURLToPath } from 'node:url';
import { dirname, resolve, sep } from 'node:path';
import { DeepstreamError, describeError } from '../errors.ts';

/** A running kernel, as the process-wide handlers see it. */
export interface LastResortReporter {
  /** Package directories of the kernel's plugins (ending in a separator) → plugin name. */
  readonly origins: ReadonlyMap<string, string>;
  report(failure: DeepstreamError, plugin: string): void;
}

/** The kernel's own sources: frames there are callers, never the culprit. */
const KERNEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..') + sep;

const reporters = new Set<LastResortReporter>();

/**
 * The kernel's last resort: while a kernel runs, a rejection nobody handled or an exception
 * nobody caught is logged, with the plugin whose code it came from, and the process goes on.
 * One client's message must never end the server (README, "Limits and abuse"). Plugins are
 * still expected to handle their own errors: this is the net under them, not the way.
 * Returns the function that removes the reporter; the handlers leave with the last one.
 */
export function installLastResort(reporter: LastResortReporter): () => void {
  if (reporters.size === 0) {
    process.on('unhandledRejection', onUnhandledRejection);
    process.on('uncaughtException', onUncaughtException);
  }
  reporters.add(reporter);
  return () => {
    if (!reporters.delete(reporter) || reporters.size > 0) return;
    process.off('unhandledRejection', onUnhandledRejection);
    process.off('uncaughtException', onUncaughtException);
  };
}

function onUnhandledRejection(reason: unknown): void {
  handle('an unhandled promise rejection', reason);
}

function onUncaughtException(error: unknown): void {
  handle('an uncaught exception', error);
}

function handle(what: string, error: unknown): void {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  let culprit: { reporter: LastResortReporter; plugin: string } | undefined;
  for (const reporter of reporters) {
    const plugin = blame(stack, reporter.origins);
    if (plugin !== undefined) {
      culprit = { reporter, plugin };
      break;
    }
  }
  const [first] = reporters;
  const reporter = culprit?.reporter ?? first;
  const plugin = culprit?.plugin ?? 'unknown';
  if (reporter === undefined) return;
  const failure = new DeepstreamError(
    'DS_UNHANDLED_ERROR',
    `${what} from plugin "${plugin}" was caught by the kernel; the server keeps running: ${describeError(error)}`,
    { cause: error },
  );
  reporter.report(failure, plugin);
}

/** The plugin whose package holds the innermost stack frame outside the kernel and node's internals. */
export function blame(stack: string, origins: ReadonlyMap<string, string>): string | undefined {
  for (const line of stack.split('\n')) {
    const file = frameFile(line);
    if (file === undefined || file.startsWith(KERNEL_DIR)) continue;
    let best: string | undefined;
    let bestLength = 0;
    for (const [dir, plugin] of origins) {
      if (dir.length > bestLength && within(file, dir)) {
        best = plugin;
        bestLength = dir.length;
      }
    }
    if (best !== undefined) return best;
  }
  return undefined;
}

/** In the package at `dir` itself, not in a package it installed (a driver in its node_modules). */
function within(file: string, dir: string): boolean {
  return file.startsWith(dir) && !file.includes(`${sep}node_modules${sep}`, dir.length);
}

/** The file of one stack line (`at f (file:///a/b.ts:1:2)`, `at /a/b.ts:1:2`), as a path. */
function frameFile(line: string): string | undefined {
  const match = /(?:\(|at )((?:file:\/\/)?\/[^():]+)(?::\d+){0,2}\)?\s*$/.exec(line);
  if (match === null) return undefined;
  const location = match[1]!;
  try {
    return location.startsWith('file:') ? fileURLToPath(location) : location;
  } catch {
    return undefined;
  }
}
