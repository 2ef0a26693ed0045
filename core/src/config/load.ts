import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
import { DeepstreamError, describeError } from '../errors.ts';
import { installedConfigFormats, type ConfigFormat, type ForeignConfig } from './formats.ts';
import type { DeepstreamConfig } from './options.ts';
import { MissingVariableError, substituteVariables } from './variables.ts';

const SEARCH_PLACES = [
  'deepstream.config.ts',
  'deepstream.config.mjs',
  'deepstream.config.js',
  'deepstream.config.json',
  'deepstream.config.yaml',
  'deepstream.config.yml',
];

/**
 * Loads a module config with Node's own `import`, so a config and the plugins it imports share the
 * kernel's module instances. A `.ts` config needs a TypeScript loader first: see typescriptLoader.
 */
const importModule: Loader = async (filepath) => {
  if (/\.[cm]?ts$/.test(filepath)) await typescriptLoader();
  const module = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
  return module.default ?? module;
};

let tsx: Promise<void> | undefined;

/**
 * In a checkout the kernel itself runs under tsx, which already loads TypeScript. An installed
 * kernel is plain JavaScript: it registers tsx (an optional dependency) the first time it meets a
 * `.ts` config, and never loads it otherwise, so a JSON, YAML or JavaScript config costs nothing.
 */
function typescriptLoader(): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  tsx ??= import('tsx/esm/api').then(
    ({ register }) => void register(),
    (error: unknown) => {
      tsx = undefined;
      throw new DeepstreamError(
        'DS_CONFIG_INVALID',
        'a deepstream.config.ts needs tsx, an optional dependency of @deepstream-ts/core that is not installed: run "npm install tsx", or write the config as .js, .json or .yaml',
        { cause: error },
      );
    },
  );
  return tsx;
}

export interface LoadedConfig {
  config: DeepstreamConfig;
  filepath: string;
  /** Plugin package names are resolved from here. */
  baseDir: string;
  /** The foreign format the file was recognised as and translated from (e.g. deepstream's), if any. */
  format?: string;
  /** What the translation from a foreign format could not carry over, one line each; to be logged at warn. */
  warnings: string[];
}

/** Which format a YAML/JSON file was in; filled in by `textLoader` while cosmiconfig loads. */
interface LoadState {
  format?: ConfigFormat;
  warnings: string[];
}

/**
 * YAML and JSON configs: a file an installed format recognises (deepstream's config.yml) is
 * translated by it; any other is ours, with `${NAME}` replaced by environment variables first
 * (a variable that is not set stops the start, naming it).
 */
function textLoader(state: LoadState, env: NodeJS.ProcessEnv): Loader {
  return async (filepath, text) => {
    const parse = defaultLoaders[extname(filepath) === '.json' ? '.json' : '.yaml'];
    let document: unknown;
    try {
      document = await parse(filepath, text);
    } catch {
      document = undefined; // perhaps valid once variables are substituted: read as ours below
    }
    if (document !== null && typeof document === 'object') {
      for (const format of await installedConfigFormats([dirname(filepath)])) {
        if (!format.recognise(document)) continue;
        const input: ForeignConfig = { filepath, text, document, env };
        const translated = await format.translate(input);
        state.format = format;
        state.warnings.push(...translated.warnings);
        return translated.config;
      }
    }
    try {
      return await parse(filepath, substituteVariables(text, { env }));
    } catch (error) {
      if (error instanceof MissingVariableError) throw new DeepstreamError('DS_CONFIG_INVALID', `${filepath}: ${error.message}`);
      throw error;
    }
  };
}

/** Finds and loads the config: `--config PATH`, else `deepstream.config.*` in `searchFrom`. */
export async function loadConfig({
  path,
  searchFrom = process.cwd(),
  env = process.env,
}: { path?: string; searchFrom?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const state: LoadState = { warnings: [] };
  const text = textLoader(state, env);
  const explorer = cosmiconfig('deepstream', {
    searchPlaces: SEARCH_PLACES,
    loaders: { '.ts': importModule, '.mjs': importModule, '.js': importModule, '.json': text, '.yaml': text, '.yml': text },
    cache: false,
  });
  let result;
  try {
    if (path !== undefined) {
      const filepath = resolve(searchFrom, path);
      if (!existsSync(filepath)) throw new DeepstreamError('DS_CONFIG_NOT_FOUND', `config file ${filepath} does not exist`);
      result = await explorer.load(filepath);
    } else {
      result = await explorer.search(searchFrom);
    }
  } catch (error) {
    if (error instanceof DeepstreamError) throw error;
    throw new DeepstreamError('DS_CONFIG_INVALID', `could not load the config: ${describeError(error)}`, { cause: error });
  }
  if (result === null || result.isEmpty === true) {
    throw new DeepstreamError(
      'DS_CONFIG_NOT_FOUND',
      path ? `config file ${path} is empty` : `no ${SEARCH_PLACES.join(' / ')} in ${searchFrom}; pass --config PATH`,
    );
  }
  const loaded: LoadedConfig = { config: result.config as DeepstreamConfig, filepath: result.filepath, baseDir: dirname(result.filepath), warnings: state.warnings };
  if (state.format !== undefined) loaded.format = state.format.name;
  return loaded;
}

/**
 * `deepstream migrate FILE`: the file, in a format an installed package recognises, rewritten as
 * our `deepstream.config.ts` (or, with `yaml`, our YAML form). Throws DS_CONFIG_INVALID when no
 * installed format recognises it.
 */
export async function migrateConfig(path: string, form: 'ts' | 'yaml', { cwd = process.cwd(), env = process.env }: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const filepath = resolve(cwd, path);
  if (!existsSync(filepath)) throw new DeepstreamError('DS_CONFIG_NOT_FOUND', `config file ${filepath} does not exist`);
  const text = await readFile(filepath, 'utf8');
  let document: unknown;
  try {
    document = await defaultLoaders[extname(filepath) === '.json' ? '.json' : '.yaml'](filepath, text);
  } catch (error) {
    throw new DeepstreamError('DS_CONFIG_INVALID', `${filepath} is not YAML or JSON: ${describeError(error)}`, { cause: error });
  }
  for (const format of await installedConfigFormats([dirname(filepath)])) {
    if (format.recognise(document)) return format.migrate({ filepath, text, document, env }, form);
  }
  throw new DeepstreamError('DS_CONFIG_INVALID', `${filepath} is in no format an installed package translates (deepstream 7's config.yml needs @deepstream-ts/compat-deepstream)`);
}
