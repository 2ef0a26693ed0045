import { DeepstreamError } from '../errors.ts';
import type { PluginManifest } from './manifest.ts';
import { applySchema } from './options-schema.ts';

export { isSchema } from './options-schema.ts';

/**
 * A plugin's options as its setup sees them. With a schema: defaults merged deeply, then checked,
 * so a typo or a wrong type stops the start naming the plugin and the key. Without one (the legacy
 * `defaults` form): merged shallowly over the defaults, unchecked, as before schemas existed.
 */
export function pluginOptions(manifest: PluginManifest<object>, given: object | undefined): object {
  if (manifest.options === undefined) return Object.freeze({ ...manifest.defaults, ...given });
  const { value, problem } = applySchema<object>(manifest.options, given, 'option');
  if (problem !== undefined) throw invalidOptions(manifest.name, problem);
  return Object.freeze(value);
}

/**
 * The error for options a plugin cannot work with. Schemas cover types and ranges; a plugin throws
 * this itself for rules a schema cannot say (two options that exclude each other, a URL's scheme).
 */
export function invalidOptions(plugin: string, problem: string): DeepstreamError {
  return new DeepstreamError('DS_PLUGIN_OPTIONS_INVALID', `plugin "${plugin}": ${problem}`);
}
