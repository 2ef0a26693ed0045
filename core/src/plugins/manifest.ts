import type { Static, TObject } from '@sinclair/typebox';
import type { PluginContext } from './context.ts';
import { callerPackageDir, rememberOrigin } from './origin.ts';

/**
 * What a plugin declares about itself. The loader checks it before anything runs: the kernel
 * range with semver, every dependency by name and range, duplicates and topic owners.
 */
export interface PluginManifest<Options extends object = Record<string, never>> {
  /** The npm package name, by convention; unique in a server. */
  readonly name: string;
  /** The plugin's own semver version. */
  readonly version: string;
  /** The kernel versions this plugin works with, as a semver range (e.g. `^0.1.0`). */
  readonly kernel: string;
  /** Plugins that must be configured (and are set up first): name → semver range. */
  readonly dependencies?: Readonly<Record<string, string>>;
  /**
   * The options schema (`Type.Object`, re-exported by core) with each option's default: the loader
   * fills in defaults deeply and refuses unknown keys and wrong types at start. `ctx.options` is
   * typed from it by `definePlugin`.
   */
  readonly options?: TObject;
  /**
   * Legacy form, for plugins without a schema: every option with its default, user options merged
   * over them shallowly and not checked. Not together with `options`.
   */
  readonly defaults?: Partial<Options>;
  /** Registers hooks, topics and services. May be async; bounded by `pluginSetupTimeout`. */
  setup(ctx: PluginContext<Options>): void | Promise<void>;
  /** Releases what setup acquired. Plugins close in reverse setup order. */
  close?(ctx: PluginContext<Options>): void | Promise<void>;
}

/** A plugin with options chosen, as it appears in `plugins: [...]`. */
export interface PluginWithOptions<Options extends object = object> {
  readonly use: PluginManifest<Options> | string;
  readonly options?: OptionsInput<Options>;
}

/** Options as a user writes them: every key optional, nested objects too (defaults fill the rest). */
export type OptionsInput<Options> = {
  [Key in keyof Options]?: Options[Key] extends readonly unknown[] ? Options[Key] : Options[Key] extends object ? OptionsInput<Options[Key]> : Options[Key];
};

export interface DefinedPlugin<Options extends object> extends PluginManifest<Options> {
  /** The same plugin with options, typed: `events.with({ ... })`. */
  with(options: OptionsInput<Options>): PluginWithOptions<Options>;
}

/**
 * One entry of the config's `plugins` list: a plugin object, a plugin with options, or an npm
 * package name (alone, as `[name, options]`, or as `{ use: name, options }`).
 */
export type PluginEntry =
  | PluginManifest<any>
  | PluginWithOptions<any>
  | string
  | readonly [string | PluginManifest<any>, object?];

/** A manifest with an options schema, spelled out so that TypeScript infers the schema from `options`. */
export type SchemaManifest<Schema extends TObject> = Omit<PluginManifest<object>, 'options' | 'defaults' | 'setup' | 'close'> & {
  readonly options: Schema;
  setup(ctx: PluginContext<Static<Schema>>): void | Promise<void>;
  close?(ctx: PluginContext<Static<Schema>>): void | Promise<void>;
};

/**
 * Declares a plugin with full typing of its options and context: with an `options` schema,
 * `ctx.options` is `Static<typeof schema>`.
 */
export function definePlugin<Schema extends TObject>(manifest: SchemaManifest<Schema>): DefinedPlugin<Static<Schema>>;
export function definePlugin<Options extends object = Record<string, never>>(manifest: PluginManifest<Options>): DefinedPlugin<Options>;
export function definePlugin<Options extends object>(manifest: PluginManifest<Options>): DefinedPlugin<Options> {
  const defined = Object.freeze({
    ...manifest,
    with: (options: OptionsInput<Options>): PluginWithOptions<Options> => ({ use: manifest, options }),
  });
  // `with` hands out the manifest as given, so both objects are remembered.
  const origin = callerPackageDir(definePlugin);
  rememberOrigin(defined, origin);
  rememberOrigin(manifest, origin);
  return defined;
}
