import semver from 'semver';
import { DeepstreamError, describeError } from '../errors.ts';
import type { ResolvedPlugin } from './resolve.ts';

const id = (p: ResolvedPlugin) => `"${p.manifest.name}@${p.manifest.version}"`;

/**
 * Checks every plugin against the kernel and each other, and returns them in setup order: each
 * after the plugins it depends on and the providers of the services it needs, otherwise in config
 * order (which is also the order of the auth chain). Refuses duplicates, kernel range mismatches,
 * missing or mismatched dependencies, a required service nobody provides, two providers of one
 * service and cycles, with errors that name both sides. `kernelServices` need no provider.
 */
export function orderPlugins(plugins: readonly ResolvedPlugin[], kernelVersion: string, kernelServices: ReadonlySet<string> = new Set()): ResolvedPlugin[] {
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

  const providers = providersOf(plugins, kernelServices);
  /** What a plugin waits for, with why, for the cycle message. */
  const before = (plugin: ResolvedPlugin): Array<{ plugin: ResolvedPlugin; why: string }> => {
    const edges = Object.keys(plugin.manifest.dependencies ?? {}).map((name) => ({ plugin: byName.get(name)!, why: 'depends on' }));
    for (const [service, need] of Object.entries(plugin.manifest.needs ?? {})) {
      const provider = providers.get(service);
      if (provider !== undefined && provider !== plugin) edges.push({ plugin: provider, why: `needs "${service}" from` });
      else if (provider === undefined && need !== 'optional' && !kernelServices.has(service)) {
        throw new DeepstreamError('DS_SERVICE_MISSING', `plugin ${id(plugin)} needs service "${service}", which no configured plugin provides`);
      }
    }
    return edges;
  };

  const ordered: ResolvedPlugin[] = [];
  const placed = new Set<string>();
  const visiting: Array<{ name: string; why: string }> = [];
  const visit = (plugin: ResolvedPlugin, why: string): void => {
    const name = plugin.manifest.name;
    if (placed.has(name)) return;
    const seen = visiting.findIndex((step) => step.name === name);
    if (seen >= 0) {
      const chain = [...visiting.slice(seen), { name, why }].map((step, i) => (i === 0 ? `"${step.name}"` : `${step.why} "${step.name}"`));
      throw new DeepstreamError('DS_PLUGIN_DEPENDENCY_CYCLE', `plugins wait for each other in a cycle: ${chain.join(' ')}`);
    }
    visiting.push({ name, why });
    for (const edge of before(plugin)) visit(edge.plugin, edge.why);
    visiting.pop();
    placed.add(name);
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin, '');
  return ordered;
}

/** Who provides each service; two plugins providing one, or a plugin providing the kernel's, is refused. */
function providersOf(plugins: readonly ResolvedPlugin[], kernelServices: ReadonlySet<string>): Map<string, ResolvedPlugin> {
  const providers = new Map<string, ResolvedPlugin>();
  for (const plugin of plugins) {
    for (const service of plugin.manifest.provides ?? []) {
      if (kernelServices.has(service)) {
        throw new DeepstreamError('DS_SERVICE_ALREADY_PROVIDED', `plugin ${id(plugin)} declares it provides service "${service}", which the kernel provides`);
      }
      const other = providers.get(service);
      if (other !== undefined) {
        throw new DeepstreamError('DS_SERVICE_ALREADY_PROVIDED', `plugins ${id(other)} and ${id(plugin)} both provide service "${service}"; configure one of them`);
      }
      providers.set(service, plugin);
    }
  }
  return providers;
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
