import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { DeepstreamError } from '../errors.ts';
import type { PluginCommand } from './manifest.ts';
import { resolvePlugins, type ResolvedPlugin } from './resolve.ts';

/** A plugin's CLI command, with the options it runs with. */
export interface FoundCommand {
  readonly command: PluginCommand<object>;
  readonly plugin: string;
  readonly options: object;
  /** The config the options came from; undefined: the plugin's defaults. */
  readonly config: string | undefined;
}

/**
 * Finds `deepstream <name>` among the plugins: first in the config (`configPath`, else the one
 * `deepstream start` would load from `cwd`), so the command runs with the options the server
 * runs with; else in the installed packages that declare it in package.json, with their defaults.
 */
export async function findCommand(name: string, configPath: string | undefined, cwd: string): Promise<FoundCommand | undefined> {
  const loaded = await loadConfig({ path: configPath, searchFrom: cwd }).catch((error: unknown) => {
    // Without --config, having no config file is fine: the installed packages are searched.
    if (configPath === undefined && error instanceof DeepstreamError && error.code === 'DS_CONFIG_NOT_FOUND') return undefined;
    throw error;
  });
  if (loaded !== undefined) {
    const plugins = await resolvePlugins(loaded.config.plugins ?? [], loaded.baseDir);
    const found = withCommand(plugins, name);
    if (found !== undefined) return { ...found, config: loaded.filepath };
  }
  const declaring = installedCommands(cwd).find((entry) => entry.command === name);
  if (declaring === undefined) return undefined;
  const found = withCommand(await resolvePlugins([declaring.package], cwd), name);
  return found === undefined ? undefined : { ...found, config: undefined };
}

function withCommand(plugins: readonly ResolvedPlugin[], name: string): Omit<FoundCommand, 'config'> | undefined {
  for (const plugin of plugins) {
    const command = plugin.manifest.commands?.[name] as PluginCommand<object> | undefined;
    if (command !== undefined) return { command, plugin: plugin.manifest.name, options: plugin.options };
  }
  return undefined;
}

/**
 * The commands installed packages declare (`"deepstream": { "commands": { name: summary } }` in
 * package.json), from `node_modules` in `from` and every directory above; read, not imported.
 */
export function installedCommands(from: string): Array<{ command: string; summary: string; package: string }> {
  const found: Array<{ command: string; summary: string; package: string }> = [];
  const seen = new Set<string>();
  for (let dir = from; ; dir = dirname(dir)) {
    for (const packageDir of packagesIn(join(dir, 'node_modules'))) {
      let pkg: { name?: unknown; deepstream?: { commands?: Record<string, unknown> } };
      try {
        pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as typeof pkg;
      } catch {
        continue;
      }
      if (typeof pkg.name !== 'string' || seen.has(pkg.name) || pkg.deepstream?.commands === undefined) continue;
      seen.add(pkg.name);
      for (const [command, summary] of Object.entries(pkg.deepstream.commands)) found.push({ command, summary: String(summary), package: pkg.name });
    }
    if (dirname(dir) === dir) return found;
  }
}

function packagesIn(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const dirs: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    if (!entry.startsWith('@')) dirs.push(join(modules, entry));
    else for (const scoped of readdirSync(join(modules, entry))) dirs.push(join(modules, entry, scoped));
  }
  return dirs;
}
