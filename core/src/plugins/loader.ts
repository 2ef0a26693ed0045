import semver from 'semver';
import { DeepstreamError, describeError } from '../errors.ts';
import type { ResolvedPlugin } from './resolve.ts';

const id = (p: ResolvedPlugin) => `"${p.manifest.name}@${p.manifest.version}"`;

/**
 * Checks every plugin against the kernel and each other, and returns them in setup order:
 * dependencies first, otherwise config order (which is also the order of the auth chain).
 * Refuses duplicates, kernel range mismatches, missing or mismatched dependencies and cycles,
 * with errors that name both sides.
 */
export function orderPlugins(plugins: readonly ResolvedPlugin[], kernelVersion: string): ResolvedPlugin[] {
  const byName = new Map<string, ResolvedPlugin>();
  for (const plugin of plugins) {
    const { name, version, kernel } = plugin.manifest;
    const twin = byName.get(name);
    if (twin !== undefined) {
      throw new DeepstreamError('DS_PLUGIN_DUPLICATE', `plugin "${name}" is configured twice: ${id(twin)} from ${twin.source} and ${id(plugin)} from ${plugin.source}`);
    }
    if (semver.valid(version) === null) throw new DeepstreamError('DS_PLUGIN_INVALID', `plugin "${name}" has version "${version}", which is not semver`);
    if (semver.validRange(kernel) === null) throw new DeepstreamError('DS_PLUGIN_INVALID', `plugin ${id(plugin)} has kernel range "${kernel}", which is not a semver range`);
    if (!semver.satisfies(kernelVersion, kernel, { includePrerelease: true })) {
      throw new DeepstreamError(
        'DS_PLUGIN_KERNEL_MISMATCH',
        `plugin ${id(plugin)} supports kernel ${kernel}, but this kernel is @deepstream-ts/core@${kernelVersion}`,
      );
    }
    byName.set(name, plugin);
  }

  for (const plugin of plugins) {
    for (const [dependency, range] of Object.entries(plugin.manifest.dependencies ?? {})) {
      const provider = byName.get(dependency);
      if (provider === undefined) {
        throw new DeepstreamError('DS_PLUGIN_DEPENDENCY_MISSING', `plugin ${id(plugin)} depends on "${dependency}" (${range}), which is not configured`);
      }
      if (!semver.satisfies(provider.manifest.version, range, { includePrerelease: true })) {
        throw new DeepstreamError(
          'DS_PLUGIN_DEPENDENCY_MISMATCH',
          `plugin ${id(plugin)} depends on "${dependency}" ${range}, but ${id(provider)} is configured`,
        );
      }
    }
  }

  const ordered: ResolvedPlugin[] = [];
  const placed = new Set<string>();
  const visiting: string[] = [];
  const visit = (plugin: ResolvedPlugin): void => {
    const name = plugin.manifest.name;
    if (placed.has(name)) return;
    if (visiting.includes(name)) {
      throw new DeepstreamError('DS_PLUGIN_DEPENDENCY_CYCLE', `plugins depend on each other in a cycle: ${[...visiting.slice(visiting.indexOf(name)), name].join(' -> ')}`);
    }
    visiting.push(name);
    for (const dependency of Object.keys(plugin.manifest.dependencies ?? {})) visit(byName.get(dependency) as ResolvedPlugin);
    visiting.pop();
    placed.add(name);
    ordered.push(plugin);
  };
  plugins.forEach(visit);
  return ordered;
}

/** Runs `work` with a deadline; a plugin that hangs in setup must not hang the server. */
export async function withTimeout<T>(work: () => T | Promise<T>, ms: number, plugin: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeepstreamError('DS_PLUGIN_SETUP_TIMEOUT', `plugin "${plugin}" did not finish setup within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(work), deadline]);
  } catch (error) {
    if (error instanceof DeepstreamError) throw error;
    throw new DeepstreamError('DS_PLUGIN_SETUP_FAILED', `plugin "${plugin}" failed in setup: ${describeError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
