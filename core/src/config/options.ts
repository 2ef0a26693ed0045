import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { LevelWithSilent } from 'pino';
import type { Static } from '@sinclair/typebox';
import { Type } from '../util/typebox.ts';
import { DeepstreamError, describeError } from '../errors.ts';
import type { PluginEntry } from '../plugins/manifest.ts';
import { applySchema, optionDefaults } from '../plugins/options-schema.ts';
import { CONFIG_SCHEMA, CONNECTION_SCHEMA, type ConnectionOptions, type LoginBackoffOptions, type TlsOptions } from './schema.ts';

export { CONFIG_SCHEMA, CONNECTION_SCHEMA, LOGIN_BACKOFF_SCHEMA, TLS_SCHEMA } from './schema.ts';
export type { ConnectionOptions, LoginBackoffOptions, TlsOptions };

/** `connection` as written in a config file: every key optional, `loginBackoff` too. */
export type ConnectionConfig = Partial<Omit<ConnectionOptions, 'loginBackoff'>> & { loginBackoff?: Partial<LoginBackoffOptions> | false };

/** TLS material read and checked, ready for `https.createServer`. */
export interface TlsMaterial {
  key: string;
  cert: string;
  ca?: string[];
  passphrase?: string;
}

/** The contents of `deepstream.config.ts` (or .js/.mjs/.json/.yaml). Every key is optional. */
export interface DeepstreamConfig {
  /** Unique name of this node in a cluster; generated when absent. */
  serverName?: string;
  /** Interface to listen on (env DEEPSTREAM_HOST). */
  host?: string;
  /** Port for WebSocket and HTTP (env DEEPSTREAM_PORT); 0 picks a free one. */
  port?: number;
  /** pino level (env DEEPSTREAM_LOG_LEVEL). */
  logLevel?: LevelWithSilent;
  /** Milliseconds each plugin's setup may take. */
  pluginSetupTimeout?: number;
  connection?: ConnectionConfig;
  /** Serve HTTPS and `wss://` instead of HTTP and `ws://`. */
  tls?: TlsOptions;
  /** Plugins in order: order decides setup order among independent plugins and the auth chain. */
  plugins?: readonly PluginEntry[];
}

export interface ResolvedConfig {
  serverName: string;
  host: string;
  port: number;
  logLevel: LevelWithSilent;
  pluginSetupTimeout: number;
  connection: ConnectionOptions;
  /** As configured (PEM text or paths); `loadTlsMaterial` reads it. */
  tls: TlsOptions | undefined;
  plugins: readonly PluginEntry[];
  /** Directory plugin package names are resolved from (the config file's directory). */
  baseDir: string;
}

export const DEFAULT_CONNECTION_OPTIONS: Readonly<ConnectionOptions> = deepFreeze(optionDefaults(CONNECTION_SCHEMA) as ConnectionOptions);

/** The environment variables that override a setting, as text the schema then checks. */
const ENV_OVERRIDES = [
  ['DEEPSTREAM_HOST', 'host'],
  ['DEEPSTREAM_PORT', 'port'],
  ['DEEPSTREAM_LOG_LEVEL', 'logLevel'],
] as const;

/** Identity function that types a config file. */
export function defineConfig(config: DeepstreamConfig): DeepstreamConfig {
  return config;
}

/**
 * Applies defaults, then environment overrides, then explicit overrides (CLI flags), and checks the
 * result against the schema, nested keys and environment values included: an unknown key or a
 * wrong type stops the start naming the key path and quoting the value as written.
 */
export function resolveConfig(
  config: DeepstreamConfig,
  { baseDir = process.cwd(), env = process.env, overrides = {} }: { baseDir?: string; env?: NodeJS.ProcessEnv; overrides?: DeepstreamConfig } = {},
): ResolvedConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw invalid('the config must export an object (use defineConfig)');
  }
  const fromEnv = environmentOverrides(env);
  const { plugins, ...settings } = { ...config, ...fromEnv, ...overrides };
  // Plugin entries hold manifests (functions, identities the loader remembers): checked by the loader, never copied.
  const connection = overrides.connection === undefined ? config.connection : { ...config.connection, ...overrides.connection };
  const given = { ...settings, connection };
  const { value, problem } = applySchema<Static<typeof CONFIG_SCHEMA>>(CONFIG_SCHEMA, given, 'key');
  if (problem !== undefined) throw invalid(problem);
  if (plugins !== undefined && !Array.isArray(plugins)) throw invalid(`plugins must be a list, got ${JSON.stringify(plugins)}`);
  if (value.serverName !== undefined && Buffer.byteLength(value.serverName) > 200) throw invalid('serverName must be a non-empty string of at most 200 bytes');
  const backoff = value.connection.loginBackoff;
  if (backoff !== false && backoff.maxDelay < backoff.baseDelay) {
    throw invalid(`connection.loginBackoff.maxDelay must be at least baseDelay (${backoff.baseDelay}), got ${backoff.maxDelay}`);
  }
  return {
    ...value,
    serverName: value.serverName ?? `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    tls: value.tls,
    plugins: plugins ?? [],
    baseDir,
  };
}

/** DEEPSTREAM_PORT=6020 is a number; anything else that is not one stays text, so the error quotes it. */
function environmentOverrides(env: NodeJS.ProcessEnv): DeepstreamConfig {
  const overrides: Record<string, unknown> = {};
  for (const [variable, key] of ENV_OVERRIDES) {
    const text = env[variable];
    if (!text) continue;
    const value = key === 'port' && /^\d+$/.test(text) ? Number(text) : text;
    const { problem } = applySchema(Type.Object({ [key]: CONFIG_SCHEMA.properties[key] }), { [key]: value }, 'key');
    if (problem !== undefined) throw invalid(`${variable}: ${problem}`);
    overrides[key] = value;
  }
  return overrides as DeepstreamConfig;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads the PEM files named in `tls` and checks that Node can use key and certificate together,
 * so a bad file stops the start naming the key, never half-way through a handshake. Errors never
 * quote PEM content.
 */
export function loadTlsMaterial(tls: TlsOptions, baseDir: string): TlsMaterial {
  const read = (name: string, value: string): string => {
    if (value.includes('-----BEGIN ')) return value;
    const file = resolve(baseDir, value);
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw invalid(`tls.${name}: cannot read ${file}: ${describeError(error)}`);
    }
  };
  const material: TlsMaterial = { key: read('key', tls.key), cert: read('cert', tls.cert) };
  if (tls.ca !== undefined) material.ca = (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map((ca, i) => read(`ca[${i}]`, ca));
  if (tls.passphrase !== undefined) material.passphrase = tls.passphrase;
  try {
    createSecureContext(material);
  } catch (error) {
    throw invalid(`tls: the key, certificate or CA cannot be used: ${describeError(error)}`);
  }
  return material;
}

function invalid(message: string): DeepstreamError {
  return new DeepstreamError('DS_CONFIG_INVALID', message);
}
