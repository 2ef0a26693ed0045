import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { LevelWithSilent } from 'pino';
import { DeepstreamError, describeError } from '../errors.ts';
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
  /** Backoff for usernames and addresses with repeated failed logins (every way in), or `false` for none. */
  loginBackoff: LoginBackoffOptions | false;
  /** Connections per remote address that may be open without being logged in, or `false` for no cap. */
  maxUnauthenticatedPerAddress: number | false;
  /**
   * Behind one reverse proxy that appends `X-Forwarded-For`: take the client's address from its
   * last entry. Off by default, since any client can write the header (and so dodge per-address limits).
   */
  trustProxy: boolean;
  /** Most names one message (a bulk subscribe, provide, head, notify…) may carry; more is refused before routing. */
  maxNamesPerMessage: number;
  /** Most names one connection may subscribe to, per topic (events, records, presence users). */
  maxSubscriptionsPerConnection: number;
}

/** `connection` as written in a config file: every key optional, `loginBackoff` too. */
export type ConnectionConfig = Partial<Omit<ConnectionOptions, 'loginBackoff'>> & { loginBackoff?: Partial<LoginBackoffOptions> | false };

/** Repeated failed logins for one username or one address make its next attempts wait, doubling up to a cap. */
export interface LoginBackoffOptions {
  /** Failed logins for one username within `window` before its attempts are refused for a while. */
  failuresPerUsername: number;
  /**
   * The same for one remote address; higher, because many users may share one (a NAT, a test
   * suite on 127.0.0.1). Behind a proxy, set `trustProxy`, or every login shares the proxy's address.
   */
  failuresPerAddress: number;
  /** Milliseconds failures are counted over; a key quiet this long after a block starts afresh. */
  window: number;
  /** Milliseconds of the first block; each further failure doubles it. */
  baseDelay: number;
  /** Longest block, in milliseconds. */
  maxDelay: number;
  /** Usernames, and separately addresses, remembered at once; past it the least recently failed is forgotten. */
  maxTrackedKeys: number;
}

/**
 * HTTPS and `wss://` on the one listener. Each value is PEM text (it contains `-----BEGIN`) or the
 * path of a PEM file, relative to the config file's directory; files are read once, at start.
 */
export interface TlsOptions {
  /** The private key. */
  key: string;
  /** The certificate, optionally followed by its intermediates. */
  cert: string;
  /** Extra CA certificates to trust or send in the chain. */
  ca?: string | string[];
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
}

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

export const DEFAULT_CONNECTION_OPTIONS: Readonly<ConnectionOptions> = Object.freeze({
  path: '/deepstream',
  heartbeatInterval: 30_000,
  unauthenticatedClientTimeout: 180_000,
  maxAuthAttempts: 3,
  maxMessageSize: 1_048_576,
  outgoingBufferLimit: 16 * 1_048_576,
  closeGracePeriod: 1_000,
  loginBackoff: Object.freeze({ failuresPerUsername: 10, failuresPerAddress: 100, window: 60_000, baseDelay: 1_000, maxDelay: 60_000, maxTrackedKeys: 10_000 }),
  maxUnauthenticatedPerAddress: 1_000,
  trustProxy: false,
  maxNamesPerMessage: 10_000,
  maxSubscriptionsPerConnection: 100_000,
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const TOP_LEVEL_KEYS = new Set(['serverName', 'host', 'port', 'logLevel', 'pluginSetupTimeout', 'connection', 'tls', 'plugins']);

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
  const given = { ...config.connection, ...overrides.connection };
  const connection: ConnectionOptions = { ...DEFAULT_CONNECTION_OPTIONS, ...given, loginBackoff: mergeLoginBackoff(given.loginBackoff ?? DEFAULT_CONNECTION_OPTIONS.loginBackoff) };
  const resolved: ResolvedConfig = {
    serverName: merged.serverName ?? `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    host: merged.host ?? '0.0.0.0',
    port: merged.port ?? 6020,
    logLevel: merged.logLevel ?? 'info',
    pluginSetupTimeout: merged.pluginSetupTimeout ?? 10_000,
    connection,
    tls: merged.tls,
    plugins: merged.plugins ?? [],
    baseDir,
  };
  validate(resolved);
  return resolved;
}

function validate(config: ResolvedConfig): void {
  if (typeof config.serverName !== 'string' || config.serverName === '' || Buffer.byteLength(config.serverName) > 200) {
    throw invalid('serverName must be a non-empty string of at most 200 bytes');
  }
  if (typeof config.host !== 'string') throw invalid('host must be a string');
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw invalid(`port must be an integer from 0 to 65535, got ${String(config.port)}`);
  if (!LOG_LEVELS.includes(config.logLevel)) throw invalid(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${String(config.logLevel)}`);
  positive('pluginSetupTimeout', config.pluginSetupTimeout);
  if (!Array.isArray(config.plugins)) throw invalid('plugins must be a list');
  if (config.tls !== undefined) validateTls(config.tls);
  const c = config.connection;
  if (typeof c.path !== 'string' || !c.path.startsWith('/')) throw invalid('connection.path must start with "/"');
  positive('connection.heartbeatInterval', c.heartbeatInterval);
  if (c.unauthenticatedClientTimeout !== false) positive('connection.unauthenticatedClientTimeout', c.unauthenticatedClientTimeout);
  positive('connection.maxAuthAttempts', c.maxAuthAttempts);
  positive('connection.maxMessageSize', c.maxMessageSize);
  positive('connection.outgoingBufferLimit', c.outgoingBufferLimit);
  if (!(Number.isFinite(c.closeGracePeriod) && c.closeGracePeriod >= 0)) throw invalid('connection.closeGracePeriod must be a number >= 0');
  if (c.maxUnauthenticatedPerAddress !== false) positiveInteger('connection.maxUnauthenticatedPerAddress', c.maxUnauthenticatedPerAddress);
  if (c.loginBackoff !== false) validateLoginBackoff(c.loginBackoff);
  if (typeof c.trustProxy !== 'boolean') throw invalid(`connection.trustProxy must be true or false, got ${String(c.trustProxy)}`);
  positive('connection.maxNamesPerMessage', c.maxNamesPerMessage);
  positive('connection.maxSubscriptionsPerConnection', c.maxSubscriptionsPerConnection);
}

const LOGIN_BACKOFF_KEYS = ['failuresPerUsername', 'failuresPerAddress', 'window', 'baseDelay', 'maxDelay', 'maxTrackedKeys'] as const;

/** A partial `loginBackoff` object keeps the defaults for what it leaves out. */
function mergeLoginBackoff(value: unknown): LoginBackoffOptions | false {
  if (value === false || value === null || typeof value !== 'object' || Array.isArray(value)) return value as LoginBackoffOptions | false;
  return { ...(DEFAULT_CONNECTION_OPTIONS.loginBackoff as LoginBackoffOptions), ...value };
}

function validateLoginBackoff(backoff: unknown): void {
  if (backoff === null || typeof backoff !== 'object' || Array.isArray(backoff)) {
    throw invalid(`connection.loginBackoff must be false or an object { ${LOGIN_BACKOFF_KEYS.join(', ')} }`);
  }
  const options = backoff as Record<string, unknown>;
  const unknown = Object.keys(options).find((key) => !(LOGIN_BACKOFF_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) throw invalid(`unknown key "connection.loginBackoff.${unknown}"; known keys: ${LOGIN_BACKOFF_KEYS.join(', ')}`);
  for (const key of ['failuresPerUsername', 'failuresPerAddress', 'maxTrackedKeys'] as const) positiveInteger(`connection.loginBackoff.${key}`, options[key]);
  for (const key of ['window', 'baseDelay', 'maxDelay'] as const) positive(`connection.loginBackoff.${key}`, options[key]);
  if ((options.maxDelay as number) < (options.baseDelay as number)) throw invalid('connection.loginBackoff.maxDelay must be at least baseDelay');
}

function validateTls(tls: unknown): void {
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) throw invalid('tls must be an object { key, cert, ca?, passphrase? }');
  const { key, cert, ca, passphrase, ...rest } = tls as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw invalid(`unknown key "tls.${unknown[0]}"; known keys: key, cert, ca, passphrase`);
  for (const [name, value] of [['key', key], ['cert', cert]] as const) {
    if (typeof value !== 'string' || value === '') throw invalid(`tls.${name} must be PEM text or the path of a PEM file`);
  }
  const cas = ca === undefined ? [] : Array.isArray(ca) ? ca : [ca];
  if (cas.some((entry) => typeof entry !== 'string' || entry === '')) throw invalid('tls.ca must be PEM text or a path, or a list of them');
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalid('tls.passphrase must be a string');
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

function positive(key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(`${key} must be a positive number, got ${String(value)}`);
}

function positiveInteger(key: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) <= 0) throw invalid(`${key} must be a positive integer, got ${String(value)}`);
}

function invalid(message: string): DeepstreamError {
  return new DeepstreamError('DS_CONFIG_INVALID', message);
}
