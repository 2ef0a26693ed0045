import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { DeepstreamError } from '../errors.ts';

/** What a plugin's own package.json says about it: the one source of its name, version and kernel range. */
export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  /** The range of `@deepstream-ts/core` in its `peerDependencies`. */
  readonly kernel: string;
  /** The package directory. */
  readonly dir: string;
}

/**
 * Reads the package.json nearest to `moduleUrl` (a plugin passes `import.meta.url`), once, when
 * the plugin is defined. The kernel range is the package's peer dependency on the kernel, so it
 * is written once, where npm checks it too.
 */
export function readPackageInfo(moduleUrl: string): PackageInfo {
  const file = moduleUrl.startsWith('file:') ? fileURLToPath(moduleUrl) : moduleUrl;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) return infoFrom(path, dir);
    if (dirname(dir) === dir) throw invalid(`no package.json above ${file}`);
  }
}

function infoFrom(path: string, dir: string): PackageInfo {
  let pkg: { name?: unknown; version?: unknown; peerDependencies?: Record<string, unknown> };
  try {
    pkg = JSON.parse(readFileSync(path, 'utf8')) as typeof pkg;
  } catch (error) {
    throw invalid(`${path} cannot be read: ${(error as Error).message}`);
  }
  const kernel = pkg.peerDependencies?.['@deepstream-ts/core'];
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string' || typeof kernel !== 'string') {
    throw invalid(`${path} must have "name", "version" and a peerDependencies entry for "@deepstream-ts/core" (the kernel range)`);
  }
  return { name: pkg.name, version: pkg.version, kernel, dir };
}

function invalid(message: string): DeepstreamError {
  return new DeepstreamError('DS_PLUGIN_INVALID', message);
}
