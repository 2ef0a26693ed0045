import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where each plugin's code lives: the package directory of the module that defined it. The
 * last-resort handler reads an error's stack against these directories to name the plugin that
 * threw (an unhandled rejection carries no other trace of who caused it). Read once, when a
 * plugin is defined or imported, never on a hot path.
 */
const origins = new WeakMap<object, string>();

/** Remembers `dir` as where `manifest` lives, unless a directory is known already. */
export function rememberOrigin(manifest: object, dir: string | undefined): void {
  if (dir !== undefined && !origins.has(manifest)) origins.set(manifest, withSeparator(dir));
}

export function originOf(manifest: object): string | undefined {
  return origins.get(manifest);
}

/** The package directory of the file that called `caller`, read off a stack trace. */
export function callerPackageDir(caller: Function): string | undefined {
  const file = callerFile(caller);
  return file === undefined ? undefined : packageDirOf(file);
}

function callerFile(caller: Function): string | undefined {
  const original = Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.captureStackTrace(holder, caller);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    const name = sites?.[0]?.getFileName() ?? undefined;
    return name?.startsWith('file:') ? fileURLToPath(name) : name;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

function packageDirOf(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function withSeparator(dir: string): string {
  return dir.endsWith(sep) ? dir : dir + sep;
}
