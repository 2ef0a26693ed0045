import { dirname } from 'node:path';
import yaml from 'js-yaml';
import { defineConfigFormat, type DeepstreamConfig, type ForeignConfig, type PluginEntry } from '@deepstream-ts/core';
import { Macros, invalid } from './macros.ts';
import { renderTs, renderYaml } from './render.ts';
import { DEEPSTREAM_KEYS, translate, type Translation } from './translate.ts';

export { translate, DEEPSTREAM_KEYS, type Translation, type PluginUse, type Dropped } from './translate.ts';

/** Keys only deepstream's config has; `serverName` and `logLevel` are ours too. */
const DEEPSTREAM_ONLY = new Set<string>(DEEPSTREAM_KEYS.filter((key) => key !== 'serverName' && key !== 'logLevel' && key !== 'plugins'));

/**
 * A deepstream 7 config, by its shape: a key only deepstream has, a deepstream log level
 * (`INFO`, or a number), or `plugins` as a map rather than our list.
 */
export function isDeepstreamConfig(document: unknown): boolean {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return false;
  const doc = document as Record<string, unknown>;
  if (Array.isArray(doc.plugins)) return false;
  if (Object.keys(doc).some((key) => DEEPSTREAM_ONLY.has(key))) return true;
  if (doc.plugins !== undefined && doc.plugins !== null && typeof doc.plugins === 'object') return true;
  return typeof doc.logLevel === 'number' || (typeof doc.logLevel === 'string' && /^(DEBUG|INFO|WARN|ERROR|OFF)$/.test(doc.logLevel));
}

/** The file read as deepstream reads it (macros resolved) and translated. */
export function translateFile({ filepath, text, env }: ForeignConfig): { translation: Translation; warnings: string[] } {
  const macros = new Macros(dirname(filepath), env);
  let document: unknown;
  try {
    document = yaml.load(macros.substitute(text), { filename: filepath });
  } catch (error) {
    throw invalid(`${filepath} is not valid YAML/JSON once variables are replaced: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw invalid(`${filepath} is not a map of settings`);
  const translation = translate(document as Record<string, unknown>, macros);
  const warnings = [
    ...translation.dropped.map(({ key, why }) => `deepstream config key ${key} dropped: ${why}`),
    ...translation.notes,
    ...[...macros.missing].map((name) => `\${${name}} is not set: replaced by an empty string, as deepstream does`),
  ];
  return { translation, warnings };
}

/** Our config from a translation: the settings, then plugins by package name. */
export function configOf({ settings, plugins }: Translation): DeepstreamConfig {
  const entries: PluginEntry[] = plugins.map(({ use, options }) => (options === undefined ? use : { use, options }));
  return { ...(settings as DeepstreamConfig), plugins: entries };
}

/** deepstream 7's config.yml, recognised and translated by the kernel's config loader (core/src/config/formats.ts). */
export default defineConfigFormat({
  name: 'deepstream 7',
  recognise: isDeepstreamConfig,
  async translate(input) {
    const { translation, warnings } = translateFile(input);
    return { config: configOf(translation), warnings };
  },
  async migrate(input, form) {
    const { translation } = translateFile(input);
    return form === 'yaml' ? renderYaml(translation, input.filepath) : renderTs(translation, input.filepath);
  },
});
