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
 * Loads a module config with Node's own `import`. The CLI runs under tsx, so a `.ts` config and the
 * TypeScript plugins it imports load with no build step and no temporary files.
 */
const importModule: Loader = async (filepath) => {
  const module = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
  return module.default ?? module;
};

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
