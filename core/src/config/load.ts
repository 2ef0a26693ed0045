import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { DeepstreamError, describeError } from '../errors.ts';
import type { DeepstreamConfig } from './options.ts';

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
}

/** Finds and loads the config: `--config PATH`, else `deepstream.config.*` in `searchFrom`. */
export async function loadConfig({ path, searchFrom = process.cwd() }: { path?: string; searchFrom?: string } = {}): Promise<LoadedConfig> {
  const explorer = cosmiconfig('deepstream', {
    searchPlaces: SEARCH_PLACES,
    loaders: { '.ts': importModule, '.mjs': importModule, '.js': importModule },
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
  return { config: result.config as DeepstreamConfig, filepath: result.filepath, baseDir: dirname(result.filepath) };
}
