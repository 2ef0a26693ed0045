import type { LevelWithSilent } from 'pino';
import { DeepstreamError } from '../errors.ts';
import type { PluginEntry } from '../plugins/manifest.ts';

/** How the kernel treats every client connection (PROTOCOL §1, §6). */
export interface ConnectionOptions {
  /** The WebSocket path; upgrades to any other path are refused. */
  path: string;
  /** Sockets silent for twice this many milliseconds are closed. */
  heartbeatInterval: number;
  /** Milliseconds a client has to log in, or `false` for no limit. */
  unauthenticatedClientTimeout: number | false;
  /** Failed logins allowed per connection before TOO_MANY_AUTH_ATTEMPTS and close. */
  maxAuthAttempts: number;
  /** Largest frame accepted, in bytes; larger frames close the socket with code 1009. */
  maxMessageSize: number;
  /** Bytes a connection may have waiting to be sent before it is dropped as a slow consumer. */
  outgoingBufferLimit: number;
  /** Milliseconds sockets get to close cleanly at shutdown before they are cut. */
  closeGracePeriod: number;
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
  connection?: Partial<ConnectionOptions>;
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
  plugins: readonly PluginEntry[];
  /** Directory plugin package names are resolved from (the config file's directory). */
  baseDir: string;
}

export const DEFAULT_CONNECTION_OPTIONS: Readonly<ConnectionOptions> = Object.freeze({
  path: '/deepstream',
  heartbeatInterval: 30_000,
  unauthenticatedClientTimeout: 180_000,
  maxAuthAttempts: 3,
  maxMessageSize: 1_048_576,
  outgoingBufferLimit: 16 * 1_048_576,
  closeGracePeriod: 1_000,
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const TOP_LEVEL_KEYS = new Set(['serverName', 'host', 'port', 'logLevel', 'pluginSetupTimeout', 'connection', 'plugins']);

/** Identity function that types a config file. */
export function defineConfig(config: DeepstreamConfig): DeepstreamConfig {
  return config;
}

/** Applies defaults, then environment overrides, then explicit overrides (CLI flags); validates. */
export function resolveConfig(
  config: DeepstreamConfig,
  { baseDir = process.cwd(), env = process.env, overrides = {} }: { baseDir?: string; env?: NodeJS.ProcessEnv; overrides?: DeepstreamConfig } = {},
): ResolvedConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw invalid('the config must export an object (use defineConfig)');
  }
  for (const key of Object.keys(config)) {
    if (!TOP_LEVEL_KEYS.has(key)) throw invalid(`unknown key "${key}"; known keys: ${[...TOP_LEVEL_KEYS].join(', ')}`);
  }
  const fromEnv: DeepstreamConfig = {};
  if (env.DEEPSTREAM_HOST) fromEnv.host = env.DEEPSTREAM_HOST;
  if (env.DEEPSTREAM_PORT) fromEnv.port = Number(env.DEEPSTREAM_PORT);
  if (env.DEEPSTREAM_LOG_LEVEL) fromEnv.logLevel = env.DEEPSTREAM_LOG_LEVEL as LevelWithSilent;
  const merged = { ...config, ...fromEnv, ...overrides };
  const connection = { ...DEFAULT_CONNECTION_OPTIONS, ...config.connection, ...overrides.connection };
  const resolved: ResolvedConfig = {
    serverName: merged.serverName ?? `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    host: merged.host ?? '0.0.0.0',
    port: merged.port ?? 6020,
    logLevel: merged.logLevel ?? 'info',
    pluginSetupTimeout: merged.pluginSetupTimeout ?? 10_000,
    connection,
    plugins: merged.plugins ?? [],
    baseDir,
  };
  validate(resolved);
  return resolved;
}

function validate(config: ResolvedConfig): void {
  if (typeof config.serverName !== 'string' || config.serverName === '') throw invalid('serverName must be a non-empty string');
  if (typeof config.host !== 'string') throw invalid('host must be a string');
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw invalid(`port must be an integer from 0 to 65535, got ${String(config.port)}`);
  if (!LOG_LEVELS.includes(config.logLevel)) throw invalid(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${String(config.logLevel)}`);
  positive('pluginSetupTimeout', config.pluginSetupTimeout);
  if (!Array.isArray(config.plugins)) throw invalid('plugins must be a list');
  const c = config.connection;
  if (typeof c.path !== 'string' || !c.path.startsWith('/')) throw invalid('connection.path must start with "/"');
  positive('connection.heartbeatInterval', c.heartbeatInterval);
  if (c.unauthenticatedClientTimeout !== false) positive('connection.unauthenticatedClientTimeout', c.unauthenticatedClientTimeout);
  positive('connection.maxAuthAttempts', c.maxAuthAttempts);
  positive('connection.maxMessageSize', c.maxMessageSize);
  positive('connection.outgoingBufferLimit', c.outgoingBufferLimit);
  if (!(Number.isFinite(c.closeGracePeriod) && c.closeGracePeriod >= 0)) throw invalid('connection.closeGracePeriod must be a number >= 0');
}

function positive(key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(`${key} must be a positive number, got ${String(value)}`);
}

function invalid(message: string): DeepstreamError {
  return new DeepstreamError('DS_CONFIG_INVALID', message);
}
