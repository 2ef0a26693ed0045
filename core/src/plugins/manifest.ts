import type { Static, TObject } from '@sinclair/typebox';
import type { PluginContext } from './context.ts';
import type { Services } from '../services.ts';
import { callerPackageDir, rememberOrigin } from './origin.ts';
import { readPackageInfo } from './package-info.ts';

export type ServiceName = keyof Services & string;

/**
 * How a plugin needs a service: `'required'` (the server does not start without a provider),
 * `'optional'` (`ctx.find` may answer `undefined`), or required with a default plugin that the
 * loader adds, from the needing plugin's own dependencies, when nothing configured provides it.
 */
export type ServiceNeed = 'required' | 'optional' | { readonly default: PluginWithOptions | string };

/**
 * What a plugin declares about itself. The loader checks it before anything runs: the kernel
 * range with semver, every dependency by name and range, who provides what others need,
 * duplicates and topic owners; then sets plugins up so that every provider comes first.
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
  /** Services this plugin provides with `ctx.provide` during setup; nobody else may provide them. */
  readonly provides?: readonly ServiceName[];
  /** Services this plugin uses (`ctx.use`, `ctx.find`); their providers are set up first. Kernel services need no entry. */
  readonly needs?: Readonly<Partial<Record<ServiceName, ServiceNeed>>>;
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
  /**
   * Subcommands of the `deepstream` CLI (`deepstream <name> ...`). List their names in package.json
   * too (`"deepstream": { "commands": { "<name>": "summary" } }`) so the CLI finds them without a config.
   */
  readonly commands?: Readonly<Record<string, PluginCommand<Options>>>;
}

/** A CLI subcommand a plugin adds; see `commands`. */
export interface PluginCommand<Options extends object = object> {
  /** One line for `deepstream --help`. */
  readonly summary: string;
  /** Runs the command; resolves to the process exit code. */
  run(invocation: CommandInvocation<Options>): number | Promise<number>;
}

export interface CommandInvocation<Options extends object = object> {
  /** The arguments after the command name, `--config PATH` taken out. */
  readonly args: readonly string[];
  /**
   * The plugin's options with defaults filled in: from the config when the CLI found one listing
   * this plugin (`--config PATH`, else `deepstream.config.*` in the working directory), else the defaults.
   */
  readonly options: Readonly<Options>;
  /** The config file the options came from, or undefined for the defaults. */
  readonly config: string | undefined;
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

/**
 * How a plugin package names itself: `package: import.meta.url`, and name, version and kernel
 * range are read from its package.json (the peer dependency on `@deepstream-ts/core` is the kernel
 * range), so each is written once; or, for a plugin without a package of its own, all three.
 */
type Identity =
  | { readonly package: string; readonly name?: never; readonly version?: never; readonly kernel?: never }
  | { readonly package?: never; readonly name: string; readonly version: string; readonly kernel: string };

type IdentityKeys = 'name' | 'version' | 'kernel';

/** A manifest as a plugin writes it: identity as above, the rest as in `PluginManifest`. */
export type PluginDefinition<Options extends object> = Omit<PluginManifest<Options>, IdentityKeys> & Identity;

/** A manifest with an options schema, spelled out so that TypeScript infers the schema from `options`. */
export type SchemaManifest<Schema extends TObject> = Omit<PluginManifest<object>, IdentityKeys | 'options' | 'defaults' | 'setup' | 'close' | 'commands'> &
  Identity & {
    readonly options: Schema;
    setup(ctx: PluginContext<Static<Schema>>): void | Promise<void>;
    close?(ctx: PluginContext<Static<Schema>>): void | Promise<void>;
    readonly commands?: Readonly<Record<string, PluginCommand<Static<Schema>>>>;
  };

/**
 * Declares a plugin with full typing of its options and context: with an `options` schema,
 * `ctx.options` is `Static<typeof schema>`.
 */
export function definePlugin<Schema extends TObject>(definition: SchemaManifest<Schema>): DefinedPlugin<Static<Schema>>;
export function definePlugin<Options extends object = Record<string, never>>(definition: PluginDefinition<Options>): DefinedPlugin<Options>;
export function definePlugin<Options extends object>(definition: PluginDefinition<Options>): DefinedPlugin<Options> {
  let manifest: PluginManifest<Options>;
  let origin: string | undefined;
  if (definition.package !== undefined) {
    const { package: moduleUrl, ...rest } = definition;
    const info = readPackageInfo(moduleUrl);
    manifest = { ...rest, name: info.name, version: info.version, kernel: info.kernel };
    origin = info.dir;
  } else {
    manifest = definition as PluginManifest<Options>;
    origin = callerPackageDir(definePlugin);
  }
  const defined: DefinedPlugin<Options> = Object.freeze({
    ...manifest,
    with: (options: OptionsInput<Options>): PluginWithOptions<Options> => ({ use: defined, options }),
  });
  rememberOrigin(defined, origin);
  return defined;
}
