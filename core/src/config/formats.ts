import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeepstreamError, describeError } from '../errors.ts';
import { entryPoint, type PackageJson } from '../plugins/resolve.ts';
import type { DeepstreamConfig } from './options.ts';

/** A config file in another server's format, as a format package is given it. */
export interface ForeignConfig {
  /** Absolute path of the file. */
  filepath: string;
  /** The file's text, untouched (macros unresolved). */
  text: string;
  /** The text parsed as YAML/JSON with nothing substituted: what `recognise` looked at. */
  document: unknown;
  env: NodeJS.ProcessEnv;
}

/** What a format package made of a foreign config: our config, and a line for each thing it could not carry over. */
export interface TranslatedConfig {
  config: DeepstreamConfig;
  warnings: string[];
}

/**
 * A config format other than ours, provided by an installed package (e.g. deepstream's
 * config.yml). The kernel knows no format: it asks each installed one whether it recognises a
 * YAML/JSON file by its shape, and starts from the translation. A package declares its format in
 * its package.json as `"deepstream-ts": { "configFormat": "." }`, an export of the package (`.`, or a
 * subpath such as `./format`) whose default export is the format; it is resolved like a plugin's
 * entry, so a checkout runs its source and an installed package its build.
 */
export interface ConfigFormat {
  /** Shown in logs: "loaded … as a <name> config". */
  readonly name: string;
  recognise(document: unknown): boolean;
  /** Throws DeepstreamError DS_CONFIG_INVALID for what cannot be honoured safely. */
  translate(input: ForeignConfig): Promise<TranslatedConfig>;
  /** The equivalent of the file as our `deepstream.config.ts` (`ts`) or YAML config, for `deepstream migrate`. */
  migrate(input: ForeignConfig, form: 'ts' | 'yaml'): Promise<string>;
}

/** Types a format module's default export. */
export function defineConfigFormat(format: ConfigFormat): ConfigFormat {
  return format;
}

/** Where the kernel itself is installed: format packages next to it are found too. */
const KERNEL_DIR = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The formats installed in `node_modules` from each of `from` upwards and from the kernel's own
 * directory upwards: packages under `@deepstream-ts/` or named `deepstream-*` whose package.json
 * declares one. Only read when a YAML/JSON config is loaded, so a `.ts` config costs nothing.
 */
export async function installedConfigFormats(from: readonly string[]): Promise<ConfigFormat[]> {
  const modules = new Map<string, string>();
  for (const start of [...from, KERNEL_DIR]) {
    for (let dir = start; ; dir = dirname(dir)) {
      for (const packageDir of candidatePackages(join(dir, 'node_modules'))) {
        const declared = declaredFormat(packageDir);
        if (declared !== undefined && !modules.has(declared.name)) modules.set(declared.name, declared.module);
      }
      if (dirname(dir) === dir) break;
    }
  }
  const formats: ConfigFormat[] = [];
  for (const [name, module] of modules) {
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(module).href)) as { default?: unknown };
    } catch (error) {
      throw new DeepstreamError('DS_CONFIG_INVALID', `the config format of package "${name}" failed to load: ${describeError(error)}`, { cause: error });
    }
    const format = loaded.default as Partial<ConfigFormat> | undefined;
    if (typeof format?.recognise !== 'function' || typeof format.translate !== 'function' || typeof format.migrate !== 'function') {
      throw new DeepstreamError('DS_CONFIG_INVALID', `package "${name}" declares a config format whose default export has no recognise/translate/migrate functions`);
    }
    formats.push(format as ConfigFormat);
  }
  return formats;
}

function candidatePackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  const scoped = join(nodeModules, '@deepstream-ts');
  const inScope = existsSync(scoped) ? readdirSync(scoped).map((name) => join(scoped, name)) : [];
  const unscoped = readdirSync(nodeModules)
    .filter((name) => name.startsWith('deepstream-'))
    .map((name) => join(nodeModules, name));
  return [...inScope, ...unscoped];
}

function declaredFormat(packageDir: string): { name: string; module: string } | undefined {
  let pkg: PackageJson & { name?: unknown; 'deepstream-ts'?: { configFormat?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return undefined; // not a package (or not readable): nothing is declared there
  }
  const module = pkg['deepstream-ts']?.configFormat;
  if (typeof module !== 'string' || typeof pkg.name !== 'string') return undefined;
  return { name: pkg.name, module: join(packageDir, entryPoint(pkg, module)) };
}
