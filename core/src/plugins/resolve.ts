import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeepstreamError, describeError } from '../errors.ts';
import type { PluginEntry, PluginManifest, ServiceName, ServiceNeed } from './manifest.ts';
import { isSchema, pluginOptions } from './plugin-options.ts';
import { originOf, rememberOrigin } from './origin.ts';

export interface ResolvedPlugin {
  readonly manifest: PluginManifest<object>;
  readonly options: object;
  /** Where it came from, for error messages: a package name or `(inline)`. */
  readonly source: string;
}

/** Turns every config entry into a manifest with options, importing packages named by string. */
export async function resolvePlugins(entries: readonly PluginEntry[], baseDir: string): Promise<ResolvedPlugin[]> {
  const resolved: ResolvedPlugin[] = [];
  for (const [index, entry] of entries.entries()) resolved.push(await resolveEntry(entry, `plugins[${index}]`, baseDir));
  return addDefaultProviders(resolved, baseDir);
}

async function resolveEntry(entry: PluginEntry, where: string, baseDir: string): Promise<ResolvedPlugin> {
  const { use, options } = normalise(entry, where);
  const manifest = typeof use === 'string' ? await importPlugin(use, baseDir) : use;
  assertManifest(manifest, typeof use === 'string' ? use : where);
  return {
    manifest,
    options: pluginOptions(manifest, options),
    source: typeof use === 'string' ? use : '(inline)',
  };
}

/**
 * A need declared with a default (`needs: { cache: { default: '@deepstream-ts/cache-memory' } }`)
 * that nothing configured provides brings its default plugin, resolved from the needing plugin's
 * own package, so a feature plugin never imports a connector to have a fallback.
 */
async function addDefaultProviders(plugins: ResolvedPlugin[], baseDir: string): Promise<ResolvedPlugin[]> {
  const provided = new Set<string>(plugins.flatMap((plugin) => plugin.manifest.provides ?? []));
  for (let i = 0; i < plugins.length; i++) {
    const needing = plugins[i]!;
    for (const [service, need] of Object.entries(needing.manifest.needs ?? {}) as Array<[string, ServiceNeed]>) {
      if (typeof need !== 'object' || provided.has(service)) continue;
      const where = `the default "${service}" of plugin "${needing.manifest.name}"`;
      const fallback = await resolveEntry(need.default, where, originOf(needing.manifest) ?? baseDir);
      if (!(fallback.manifest.provides ?? []).includes(service as ServiceName)) {
        throw new DeepstreamError('DS_PLUGIN_INVALID', `${where}, "${fallback.manifest.name}", does not declare that it provides "${service}"`);
      }
      plugins.push({ ...fallback, source: `default of ${needing.manifest.name}` });
      for (const s of fallback.manifest.provides ?? []) provided.add(s);
    }
  }
  return plugins;
}

function normalise(entry: PluginEntry, where: string): { use: unknown; options: object | undefined } {
  if (typeof entry === 'string') return { use: entry, options: undefined };
  if (Array.isArray(entry)) return { use: entry[0], options: entry[1] as object | undefined };
  if (entry !== null && typeof entry === 'object' && 'use' in entry) return { use: entry.use, options: entry.options };
  if (entry !== null && typeof entry === 'object') return { use: entry, options: undefined };
  throw new DeepstreamError('DS_PLUGIN_INVALID', `${where} is ${String(entry)}, not a plugin, package name or [plugin, options]`);
}

function assertManifest(value: unknown, where: string): asserts value is PluginManifest<object> {
  const m = value as Partial<PluginManifest<object>> | null;
  const problems: string[] = [];
  if (m === null || typeof m !== 'object') problems.push('it is not an object');
  else {
    if (typeof m.name !== 'string' || m.name === '') problems.push('"name" must be a non-empty string');
    if (typeof m.version !== 'string') problems.push('"version" must be a semver string');
    if (typeof m.kernel !== 'string') problems.push('"kernel" must be a semver range');
    if (typeof m.setup !== 'function') problems.push('"setup" must be a function');
    if (m.options !== undefined && !isSchema(m.options)) problems.push('"options" must be a schema made with Type.Object (re-exported by @deepstream-ts/core)');
    if (m.options !== undefined && m.defaults !== undefined) problems.push('"options" and "defaults" together: put the defaults in the schema');
  }
  if (problems.length > 0) throw new DeepstreamError('DS_PLUGIN_INVALID', `${where} is not a valid plugin: ${problems.join('; ')}`);
}

/**
 * Imports a plugin package the way an npm user installed it: found in `node_modules` from the
 * config's directory upwards, entry point from `exports` (import/node/default), `module` or `main`.
 * Its default export (or a named `plugin` export) is the manifest.
 */
async function importPlugin(name: string, baseDir: string): Promise<unknown> {
  // Then next to the kernel: a config kept outside the project (/etc/deepstream/conf) still finds the project's plugins.
  const packageDir = findPackage(name, baseDir) ?? findPackage(name, KERNEL_DIR);
  if (packageDir === undefined) {
    throw new DeepstreamError('DS_PLUGIN_NOT_FOUND', `plugin package "${name}" is not installed (searched node_modules from ${baseDir} upwards)`);
  }
  const entry = join(packageDir, entryPoint(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageJson));
  let module: { default?: unknown; plugin?: unknown };
  try {
    module = (await import(pathToFileURL(entry).href)) as typeof module;
  } catch (error) {
    throw new DeepstreamError('DS_PLUGIN_INVALID', `plugin package "${name}" failed to load: ${describeError(error)}`, { cause: error });
  }
  const manifest = module.default ?? module.plugin;
  if (manifest !== null && typeof manifest === 'object') rememberOrigin(manifest, packageDir);
  return manifest;
}

const KERNEL_DIR = fileURLToPath(new URL('../..', import.meta.url));

function findPackage(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

export interface PackageJson {
  exports?: unknown;
  module?: string;
  main?: string;
}

/**
 * Only in a checkout of the repository does the kernel run from its TypeScript sources (under tsx
 * with the "source" export condition); it then loads plugins from their sources too, as Node does
 * for every other import there, so that no stale dist/ is ever mixed in.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The file a package exports at `subpath` (`.` is its main entry), under the conditions the kernel runs with. */
export function entryPoint(pkg: PackageJson, subpath = '.'): string {
  let target: unknown = pkg.exports;
  if (target !== null && typeof target === 'object' && subpath in target) target = (target as Record<string, unknown>)[subpath];
  else if (subpath !== '.') return subpath;
  while (target !== null && typeof target === 'object') {
    const conditions = target as Record<string, unknown>;
    target = (FROM_SOURCE ? conditions.source : undefined) ?? conditions.import ?? conditions.node ?? conditions.default;
  }
  if (typeof target === 'string') return target;
  return pkg.module ?? pkg.main ?? 'index.js';
}
