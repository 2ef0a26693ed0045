import type { Static } from '@sinclair/typebox';
import { Type } from '../util/typebox.ts';

/**
 * The kernel's own settings as schemas: the types below come from them, the loader checks every
 * config against them (nested keys included) and the defaults live here, once.
 */

const positive = (options: object = {}) => Type.Number({ exclusiveMinimum: 0, ...options });
const positiveInteger = (options: object = {}) => Type.Integer({ minimum: 1, ...options });

/** Repeated failed logins for one username or one address make its next attempts wait, doubling up to a cap. */
export const LOGIN_BACKOFF_SCHEMA = Type.Object({
  /** Failed logins for one username within `window` before its attempts are refused for a while. */
  failuresPerUsername: positiveInteger({ default: 10 }),
  /**
   * The same for one remote address; higher, because many users may share one (a NAT, a test
   * suite on 127.0.0.1). Behind a proxy, set `trustProxy`, or every login shares the proxy's address.
   */
  failuresPerAddress: positiveInteger({ default: 100 }),
  /** Milliseconds failures are counted over; a key quiet this long after a block starts afresh. */
  window: positive({ default: 60_000 }),
  /** Milliseconds of the first block; each further failure doubles it. */
  baseDelay: positive({ default: 1_000 }),
  /** Longest block, in milliseconds (at least `baseDelay`). */
  maxDelay: positive({ default: 60_000 }),
  /** Usernames, and separately addresses, remembered at once; past it the least recently failed is forgotten. */
  maxTrackedKeys: positiveInteger({ default: 10_000 }),
});

/** How the kernel treats every client connection (PROTOCOL §1, §6). */
export const CONNECTION_SCHEMA = Type.Object({
  /** The WebSocket path; upgrades to any other path are refused. */
  path: Type.String({ pattern: '^/', expected: 'a path starting with "/"', default: '/deepstream' }),
  /** Sockets silent for twice this many milliseconds are closed. */
  heartbeatInterval: positive({ default: 30_000 }),
  /** Milliseconds a client has to log in, or `false` for no limit. */
  unauthenticatedClientTimeout: Type.Union([Type.Literal(false), positive()], { default: 180_000 }),
  /** Failed logins allowed per connection before TOO_MANY_AUTH_ATTEMPTS and close. */
  maxAuthAttempts: positive({ default: 3 }),
  /** Largest frame accepted, in bytes; larger frames close the socket with code 1009. */
  maxMessageSize: positive({ default: 1_048_576 }),
  /** Bytes a connection may have waiting to be sent before it is dropped as a slow consumer. */
  outgoingBufferLimit: positive({ default: 16 * 1_048_576 }),
  /**
   * Milliseconds a connection's outgoing frames may be held so that they leave as one socket write;
   * 0 sends them at the end of the event-loop turn. Worth it when many small messages per second go
   * to each client and a few ms of latency do not matter (see core/README).
   */
  writeDelay: Type.Number({ minimum: 0, maximum: 1_000, default: 0 }),
  /** Milliseconds sockets get to close cleanly at shutdown before they are cut. */
  closeGracePeriod: Type.Number({ minimum: 0, default: 1_000 }),
  /** Backoff for usernames and addresses with repeated failed logins (every way in), or `false` for none. */
  loginBackoff: Type.Union([Type.Literal(false), LOGIN_BACKOFF_SCHEMA], { default: {} }),
  /** Connections per remote address that may be open without being logged in, or `false` for no cap. */
  maxUnauthenticatedPerAddress: Type.Union([Type.Literal(false), positiveInteger()], { default: 1_000 }),
  /**
   * Behind one reverse proxy that appends `X-Forwarded-For`: take the client's address from its
   * last entry. Off by default, since any client can write the header (and so dodge per-address limits).
   */
  trustProxy: Type.Boolean({ default: false }),
  /** Most names one message (a bulk subscribe, provide, head, notify…) may carry; more is refused before routing. */
  maxNamesPerMessage: positive({ default: 10_000 }),
  /** Most names one connection may subscribe to, per topic (events, records, presence users). */
  maxSubscriptionsPerConnection: positive({ default: 100_000 }),
});

const PEM = { minLength: 1, expected: 'PEM text or the path of a PEM file' };

/**
 * HTTPS and `wss://` on the one listener. Each value is PEM text (it contains `-----BEGIN`) or the
 * path of a PEM file, relative to the config file's directory; files are read once, at start.
 * Values are never quoted in errors (`writeOnly`): they may be key material.
 */
export const TLS_SCHEMA = Type.Object({
  /** The private key. */
  key: Type.String({ ...PEM, writeOnly: true }),
  /** The certificate, optionally followed by its intermediates. */
  cert: Type.String({ ...PEM, writeOnly: true }),
  /** Extra CA certificates to trust or send in the chain. */
  ca: Type.Optional(Type.Union([Type.String(PEM), Type.Array(Type.String(PEM))], { expected: 'PEM text or a path, or a list of them', writeOnly: true })),
  /** Decrypts an encrypted `key`. */
  passphrase: Type.Optional(Type.String({ writeOnly: true })),
});

/** pino's levels (`LevelWithSilent`). */
export const LOG_LEVEL_SCHEMA = Type.Union(
  [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
  { default: 'info' },
);

/**
 * The top level of `deepstream.config.ts` (or .js/.mjs/.json/.yaml). `serverName` has no default
 * here (one is generated per process); `plugins` entries are checked by the plugin loader.
 */
export const CONFIG_SCHEMA = Type.Object({
  /** Unique name of this node in a cluster (at most 200 bytes); generated when absent. */
  serverName: Type.Optional(Type.String({ minLength: 1 })),
  /** Interface to listen on (env DEEPSTREAM_HOST). */
  host: Type.String({ default: '0.0.0.0' }),
  /** Port for WebSocket and HTTP (env DEEPSTREAM_PORT); 0 picks a free one. */
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 6020 }),
  /** pino level (env DEEPSTREAM_LOG_LEVEL). */
  logLevel: LOG_LEVEL_SCHEMA,
  /** Milliseconds each plugin's setup may take. */
  pluginSetupTimeout: positive({ default: 10_000 }),
  connection: Type.Object(CONNECTION_SCHEMA.properties, { default: {} }),
  /** Serve HTTPS and `wss://` instead of HTTP and `ws://`. */
  tls: Type.Optional(TLS_SCHEMA),
  /** Plugins in order: order decides setup order among independent plugins and the auth chain. */
  plugins: Type.Array(Type.Unknown(), { default: [] }),
});

export type LoginBackoffOptions = Static<typeof LOGIN_BACKOFF_SCHEMA>;
export type ConnectionOptions = Static<typeof CONNECTION_SCHEMA>;
export type TlsOptions = Static<typeof TLS_SCHEMA>;
