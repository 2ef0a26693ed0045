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
  /** Every option with its default; user options are merged over these (shallowly). */
  readonly defaults?: Options;
  /** Registers hooks, topics and services. May be async; bounded by `pluginSetupTimeout`. */
  setup(ctx: PluginContext<Options>): void | Promise<void>;
  /** Releases what setup acquired. Plugins close in reverse setup order. */
  close?(ctx: PluginContext<Options>): void | Promise<void>;
}

/** A plugin with options chosen, as it appears in `plugins: [...]`. */
export interface PluginWithOptions<Options extends object = object> {
  readonly use: PluginManifest<Options> | string;
  readonly options?: Partial<Options>;
}

export interface DefinedPlugin<Options extends object> extends PluginManifest<Options> {
  /** The same plugin with options, typed: `events.with({ ... })`. */
  with(options: Partial<Options>): PluginWithOptions<Options>;
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
 * A manifest as a plugin package writes it: `package: import.meta.url` instead of name, version
 * and kernel range, which are then read from the package's package.json (its peer dependency on
 * `@deepstream-ts/core` is the kernel range), so each is written once.
 */
export type PluginDefinition<Options extends object> =
  | PluginManifest<Options>
  | (Omit<PluginManifest<Options>, 'name' | 'version' | 'kernel'> & { readonly package: string });

/** Declares a plugin with full typing of its options and context. */
export function definePlugin<Options extends object = Record<string, never>>(definition: PluginDefinition<Options>): DefinedPlugin<Options> {
  let manifest: PluginManifest<Options>;
  let origin: string | undefined;
  if ('package' in definition) {
    const { package: moduleUrl, ...rest } = definition;
    const info = readPackageInfo(moduleUrl);
    manifest = { ...rest, name: info.name, version: info.version, kernel: info.kernel };
    origin = info.dir;
  } else {
    manifest = definition;
    origin = callerPackageDir(definePlugin);
  }
  const defined = Object.freeze({
    ...manifest,
    with: (options: Partial<Options>): PluginWithOptions<Options> => ({ use: defined, options }),
  });
  rememberOrigin(defined, origin);
  return defined;
}
