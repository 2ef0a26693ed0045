import { Macros, invalid, parseMacro } from './macros.ts';

/** One plugin of the translated config, by package name (resolved like any YAML config's). */
export interface PluginUse {
  use: string;
  options?: Record<string, unknown>;
  /** The deepstream key it comes from, for the comments of `deepstream migrate`. */
  from: string;
}

/** A deepstream key with no equivalent here, and why. */
export interface Dropped {
  key: string;
  why: string;
}

export interface Translation {
  /** Our top-level settings: serverName, host, port, logLevel, pluginSetupTimeout, connection, tls. */
  settings: Record<string, unknown>;
  plugins: PluginUse[];
  dropped: Dropped[];
  /** Other things a deepstream user should know (unset variables, data layouts), one line each. */
  notes: string[];
}

type Json = Record<string, unknown>;

const P = {
  authOpen: '@deepstream-ts/plugin-auth-open',
  authFile: '@deepstream-ts/plugin-auth-file',
  authHttp: '@deepstream-ts/plugin-auth-http',
  valve: '@deepstream-ts/plugin-permissions-valve',
  events: '@deepstream-ts/plugin-events',
  records: '@deepstream-ts/plugin-records',
  rpc: '@deepstream-ts/plugin-rpc',
  presence: '@deepstream-ts/plugin-presence',
  listening: '@deepstream-ts/plugin-listening',
  httpApi: '@deepstream-ts/plugin-http-api',
  health: '@deepstream-ts/plugin-health',
  cacheRedis: '@deepstream-ts/cache-redis',
  storagePostgres: '@deepstream-ts/storage-postgres',
  storageMongodb: '@deepstream-ts/storage-mongodb',
  clusterRedis: '@deepstream-ts/cluster-redis',
} as const;

/** deepstream 7's top-level keys (its config validator refuses any other). */
export const DEEPSTREAM_KEYS = [
  'libDir', 'serverName', 'showLogo', 'exitOnFatalError', 'dependencyInitializationTimeout', 'logLevel',
  'enabledFeatures', 'rpc', 'record', 'listen', 'httpServer', 'connectionEndpoints', 'logger', 'cache',
  'storage', 'auth', 'permission', 'subscriptions', 'monitoring', 'telemetry', 'locks', 'clusterNode',
  'clusterRegistry', 'clusterStates', 'plugins',
] as const;

/** deepstream's LOG_LEVEL names and numbers, as pino levels. */
const LOG_LEVELS: Record<string, string> = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', FATAL: 'fatal', OFF: 'silent', 0: 'debug', 1: 'info', 2: 'warn', 3: 'error', 4: 'fatal', 100: 'silent' };

/** Options copied under the same name: deepstream's and ours mean the same. */
const SAME_NAMES = {
  rpc: ['ackTimeout', 'responseTimeout', 'provideRequestorName', 'provideRequestorData'],
  record: ['cacheRetrievalTimeout', 'storageRetrievalTimeout', 'storageExclusionPrefixes', 'storageHotPathPrefixes'],
  listen: ['shuffleProviders', 'responseTimeout', 'rematchInterval', 'matchCooldown'],
  authHttp: ['endpointUrl', 'permittedStatusCodes', 'requestTimeout', 'promoteToHeader', 'retryStatusCodes', 'retryAttempts', 'retryInterval', 'reportInvalidParameters'],
  httpEndpoint: ['allowAuthData', 'enableAuthEndpoint', 'authPath', 'postPath', 'getPath', 'logInvalidAuthData', 'requestTimeout'],
} as const;

/**
 * deepstream 7's config (macros unresolved, `${NAME}` already replaced) as our settings and
 * plugins. Every key is either carried over, dropped with a reason, or refused with an error when
 * running without it would be unsafe (a custom plugin, a storage we cannot write, an auth type we
 * lack: the server would run with a different meaning).
 */
export function translate(document: Json, macros: Macros): Translation {
  const t = new Translator(macros);
  t.run(document);
  return { settings: t.settings, plugins: t.plugins, dropped: t.dropped, notes: t.notes };
}

class Translator {
  readonly settings: Json = {};
  readonly connection: Json = {};
  readonly plugins: PluginUse[] = [];
  readonly dropped: Dropped[] = [];
  readonly notes: string[] = [];
  private readonly features = { record: true, event: true, rpc: true, presence: true };

  constructor(private readonly macros: Macros) {}

  run(doc: Json): void {
    for (const key of Object.keys(doc)) {
      if (!(DEEPSTREAM_KEYS as readonly string[]).includes(key)) throw invalid(`unknown key "${key}" (deepstream 7 refuses it too)`);
    }
    this.general(doc);
    const rest = (key: string) => this.macros.resolve(doc[key]) as Json | undefined;
    this.readFeatures(rest('enabledFeatures'));
    this.auth(doc.auth);
    this.permission(doc.permission);
    this.storage(rest('storage'));
    this.cache(rest('cache'));
    this.clusterNode(rest('clusterNode'), rest('clusterRegistry'));
    const http = this.endpoints(rest('connectionEndpoints'));
    const httpServer = this.httpServer(doc.httpServer as Json | undefined, http);
    if (this.features.event) this.plugins.push({ use: P.events, from: 'enabledFeatures.event' });
    if (this.features.record) this.plugins.push(this.sameNames(P.records, 'record', rest('record'), SAME_NAMES.record));
    if (this.features.rpc) this.plugins.push(this.sameNames(P.rpc, 'rpc', rest('rpc'), SAME_NAMES.rpc));
    if (this.features.presence) this.plugins.push({ use: P.presence, from: 'enabledFeatures.presence' });
    if (this.features.event || this.features.record) this.plugins.push(this.sameNames(P.listening, 'listen', rest('listen'), SAME_NAMES.listen));
    else if (doc.listen !== undefined) this.drop('listen', 'events and records are both disabled, so nothing can be listened to');
    if (http !== undefined) this.plugins.push({ use: P.httpApi, options: { ...http, ...httpServer.api }, from: 'connectionEndpoints[http]' });
    if (httpServer.healthCheckPath !== undefined) this.plugins.push({ use: P.health, options: { path: httpServer.healthCheckPath }, from: 'httpServer.options.healthCheckPath' });
    if (Object.keys(this.connection).length > 0) this.settings.connection = this.connection;
    for (const key of ['logger', 'subscriptions', 'locks', 'clusterStates', 'monitoring', 'telemetry', 'plugins'] as const) this.unsupported(key, rest(key));
  }

  private general(doc: Json): void {
    const { serverName, logLevel, dependencyInitializationTimeout, exitOnFatalError, showLogo, libDir } = doc;
    // deepstream generates a name for `UUID`; so do we when none is given.
    if (serverName !== undefined && serverName !== 'UUID') this.settings.serverName = serverName;
    const level = logLevel ?? (this.macros.resolve(doc.logger) as { options?: Json } | undefined)?.options?.logLevel;
    if (level !== undefined) {
      const pino = LOG_LEVELS[String(level).toUpperCase()];
      if (pino === undefined) throw invalid(`logLevel ${JSON.stringify(level)} is none of DEBUG, INFO, WARN, ERROR, OFF`);
      this.settings.logLevel = pino;
    }
    if (dependencyInitializationTimeout !== undefined) this.settings.pluginSetupTimeout = dependencyInitializationTimeout;
    if (exitOnFatalError === true) {
      this.drop('exitOnFatalError', 'we never exit on a connector failure: connectors reconnect and GET /health-check answers 503 meanwhile; let your supervisor restart on that');
    }
    if (showLogo !== undefined) this.drop('showLogo', 'no logo is printed');
    if (libDir !== undefined && libDir !== null) this.drop('libDir', 'plugins are npm packages found in node_modules, not files in a directory');
  }

  private readFeatures(features: Json | undefined): void {
    if (features === undefined) return;
    for (const [key, value] of Object.entries(features)) {
      if (key in this.features) this.features[key as keyof typeof this.features] = value !== false;
      else if (key === 'monitoring') {
        if (value === true) this.drop('enabledFeatures.monitoring', 'deepstream monitoring does not exist here; add @deepstream-ts/plugin-metrics-prometheus for GET /metrics');
      } else this.drop(`enabledFeatures.${key}`, 'not a deepstream 7 feature');
    }
  }

  private auth(value: unknown): void {
    if (value === undefined) {
      this.plugins.push({ use: P.authOpen, from: 'auth (deepstream default: none)' });
      return;
    }
    const entries = (Array.isArray(value) ? value : [value]) as Json[];
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      const where = `auth[${index}]`;
      if (entry === null || typeof entry !== 'object') throw invalid(`${where} must be a map with a type (none, file or http)`);
      if (entry.name !== undefined || entry.path !== undefined) {
        throw invalid(`${where}: the custom authentication plugin ${JSON.stringify(entry.name ?? entry.path)} cannot run here; write it as a deepstream-ts plugin on the authenticate hook`);
      }
      const type = entry.type;
      if (seen.has(String(type))) throw invalid(`${where}: a second "${String(type)}" strategy; one is loaded per type here`);
      seen.add(String(type));
      const options = (entry.options ?? {}) as Json;
      if (type === 'none') this.plugins.push({ use: P.authOpen, from: where });
      else if (type === 'file') this.plugins.push({ use: P.authFile, options: this.fileAuth(where, options), from: where });
      else if (type === 'http') this.plugins.push({ use: P.authHttp, options: this.httpAuth(where, options), from: where });
      else if (type === 'storage') {
        throw invalid(`${where}: authentication against users stored as records (type: storage) has no equivalent; use type: file or http`);
      } else throw invalid(`${where}: unknown authentication type ${JSON.stringify(type)}`);
    });
  }

  /** users.yml as deepstream reads it: the hash settings exactly as given, none meaning plain-text passwords. */
  private fileAuth(where: string, options: Json): Json {
    const out: Json = {};
    const users = options.users ?? (options.path === undefined ? undefined : `fileLoad(${String(options.path)})`);
    const macro = typeof users === 'string' ? parseMacro(users) : undefined;
    // auth-file reads the file itself (reporting problems by file and user) and replaces ${NAME} in it.
    if (macro?.kind === 'fileLoad' && !/\.js$/i.test(macro.path)) out.path = this.macros.path(macro.path);
    else if (users !== undefined && users !== null && typeof users === 'object') out.users = this.macros.resolve(users);
    else throw invalid(`${where}.options.users must be fileLoad(users.yml) or a map of users`);
    // deepstream compares plain text unless `hash` is set; then iterations and keyLength are required.
    if (options.hash === undefined || options.hash === false || options.hash === '') out.hash = false;
    else {
      out.hash = options.hash;
      for (const key of ['iterations', 'keyLength'] as const) {
        if (options[key] === undefined) throw invalid(`${where}.options.${key} is required with hash (deepstream requires it too)`);
        out[key] = options[key];
      }
    }
    if (options.reportInvalidParameters !== undefined) out.reportInvalidParameters = options.reportInvalidParameters;
    this.rest(where, options, ['users', 'path', 'hash', 'iterations', 'keyLength', 'reportInvalidParameters']);
    return out;
  }

  private httpAuth(where: string, options: Json): Json {
    const resolved = this.macros.resolve(options) as Json;
    const out = pick(resolved, SAME_NAMES.authHttp);
    this.rest(where, resolved, SAME_NAMES.authHttp);
    return out;
  }

  private permission(value: unknown): void {
    const permission = (value ?? { type: 'none' }) as Json;
    if (permission.name !== undefined || permission.path !== undefined) {
      throw invalid(`permission: the custom permission plugin ${JSON.stringify(permission.name ?? permission.path)} cannot run here`);
    }
    if (permission.type === 'none') return; // no permission plugin: everything is allowed, as with deepstream's "none"
    if (permission.type !== 'config') throw invalid(`permission.type ${JSON.stringify(permission.type)} is neither config nor none`);
    const options = (permission.options ?? {}) as Json;
    const out: Json = {};
    const rules = options.permissions ?? (options.path === undefined ? undefined : `fileLoad(${String(options.path)})`);
    const macro = typeof rules === 'string' ? parseMacro(rules) : undefined;
    // The file is read by the Valve plugin, which replaces ${NAME} in it and reloads it on SIGHUP.
    if (macro !== undefined) out.path = this.macros.path(macro.path);
    else if (rules !== null && typeof rules === 'object') out.permissions = this.macros.resolve(rules);
    else throw invalid('permission.options.permissions must be fileLoad(permissions.yml) or the rules themselves');
    for (const key of ['maxRuleIterations', 'cacheEvacuationInterval'] as const) if (options[key] !== undefined) out[key] = options[key];
    this.rest('permission.options', options, ['permissions', 'path', 'maxRuleIterations', 'cacheEvacuationInterval']);
    this.plugins.push({ use: P.valve, options: out, from: 'permission' });
  }

  private storage(storage: Json | undefined): void {
    if (storage === undefined || (storage.type === 'default' && storage.name === undefined && storage.path === undefined)) return; // deepstream's default stores nothing: neither do we
    const options = (storage.options ?? {}) as Json;
    if (storage.name === 'postgres') {
      // The options go to node-postgres, which also takes a connection string.
      const url = typeof options.connectionString === 'string' ? options.connectionString : urlOf('postgres', options, 5432, options.database);
      const out: Json = { url };
      if (options.max !== undefined) out.poolSize = options.max;
      this.plugins.push({ use: P.storagePostgres, options: out, from: 'storage' });
      this.rest('storage.options', options, ['connectionString', 'user', 'password', 'host', 'port', 'database', 'max'], {
        schema: 'records live in one table (ds_records) of the database\'s default schema',
        table: 'records live in one table (ds_records)',
        defaultTable: 'records live in one table (ds_records)',
        writeInterval: 'writes are batched as they come, not on an interval',
        idleTimeoutMillis: 'pool connections are kept open',
        useJsonb: 'data is always stored as JSONB',
        notifications: 'no Postgres NOTIFY triggers are created',
      });
      this.notes.push("storage postgres: storage-postgres does not read the tables deepstream's postgres connector wrote (schema \"ds\", a table per name prefix); copy them once with: npx tsx node_modules/@deepstream-ts/storage-postgres/src/import-deepstream-cli.ts --from <url> (see MIGRATION.md)");
    } else if (storage.name === 'mongodb') {
      const out: Json = {};
      if (options.connectionString !== undefined) out.url = options.connectionString;
      if (options.db !== undefined || options.database !== undefined) out.database = options.db ?? options.database;
      if (options.defaultCollection !== undefined || options.defaultTable !== undefined) out.collection = options.defaultCollection ?? options.defaultTable;
      this.plugins.push({ use: P.storageMongodb, options: out, from: 'storage' });
      this.rest('storage.options', options, ['connectionString', 'db', 'database', 'defaultCollection', 'defaultTable'], {
        splitChar: 'records live in one collection, not one per name prefix',
      });
      this.notes.push("storage mongodb: storage-mongodb does not read the documents deepstream's mongodb connector wrote (see MIGRATION.md)");
    } else {
      throw invalid(`storage ${JSON.stringify(storage.name ?? storage.path ?? storage.type)}: no storage connector here writes where it does; records would silently go elsewhere (we have postgres, mongodb and the default)`);
    }
  }

  private cache(cache: Json | undefined): void {
    if (cache === undefined || (cache.type === 'default' && cache.name === undefined && cache.path === undefined)) return; // records' default: an unbounded in-process cache, as deepstream's
    if (cache.name !== 'redis') {
      throw invalid(`cache ${JSON.stringify(cache.name ?? cache.path ?? cache.type)}: no cache connector for it here (we have redis and the default); in a cluster every node must share the cache`);
    }
    const options = (cache.options ?? {}) as Json;
    const out: Json = {};
    if (Array.isArray(options.nodes)) {
      out.mode = 'cluster';
      out.nodes = (options.nodes as Json[]).map((node) => ({ host: node.host, port: Number(node.port) }));
      if ((options.nodes as Json[]).some((node) => node.password !== undefined)) this.drop('cache.options.nodes[].password', 'give cluster passwords through the redis URL of each node');
    } else out.url = urlOf('redis', options, 6379, options.db);
    if (options.ttl !== undefined) out.ttl = options.ttl;
    if (options.keyPrefix !== undefined) out.keyPrefix = options.keyPrefix;
    this.plugins.push({ use: P.cacheRedis, options: out, from: 'cache' });
    this.rest('cache.options', options, ['host', 'port', 'password', 'db', 'nodes', 'ttl', 'keyPrefix']);
  }

  private clusterNode(node: Json | undefined, registry: Json | undefined): void {
    const single = node === undefined || (node.type === 'default' && node.name === undefined && node.path === undefined);
    if (single) {
      if (registry !== undefined) this.drop('clusterRegistry', 'a single node has no cluster registry');
      return;
    }
    if (node.name !== 'redis') throw invalid(`clusterNode ${JSON.stringify(node.name ?? node.path)}: only a redis cluster is supported here`);
    const options = (node.options ?? {}) as Json;
    const out: Json = { url: urlOf('redis', options, 6379, options.db) };
    const reg = (registry?.options ?? {}) as Json;
    if (reg.keepAliveInterval !== undefined) out.keepAliveInterval = reg.keepAliveInterval;
    if (reg.nodeInactiveTimeout !== undefined) out.nodeTimeout = reg.nodeInactiveTimeout;
    if (reg.activeCheckInterval !== undefined) this.drop('clusterRegistry.options.activeCheckInterval', 'nodes are checked on every heartbeat');
    this.plugins.push({ use: P.clusterRedis, options: out, from: 'clusterNode' });
    this.rest('clusterNode.options', options, ['host', 'port', 'password', 'db']);
  }

  /** `connectionEndpoints`: ws-binary becomes `connection`; the http endpoint's options (http-api) are returned. */
  private endpoints(list: unknown): Json | undefined {
    if (list === undefined) {
      this.notes.push('connectionEndpoints not given: deepstream would also serve ws-text, ws-json and MQTT by default; we serve the binary WebSocket and HTTP endpoints');
      return {};
    }
    if (!Array.isArray(list)) throw invalid('connectionEndpoints must be a list');
    let http: Json | undefined;
    let binary = false;
    list.forEach((entry: Json | null, index) => {
      if (entry === null) return;
      const where = `connectionEndpoints[${index}]`;
      const options = (entry.options ?? {}) as Json;
      if (entry.name !== undefined || entry.path !== undefined) throw invalid(`${where}: the custom endpoint ${JSON.stringify(entry.name ?? entry.path)} cannot run here`);
      switch (entry.type) {
        case 'ws-binary':
          binary = true;
          this.websocket(where, options);
          break;
        case 'http':
          http = pick(options, SAME_NAMES.httpEndpoint);
          this.rest(`${where}.options`, options, SAME_NAMES.httpEndpoint);
          break;
        case 'ws-text':
        case 'ws-json':
          this.drop(`${where} (${entry.type})`, `the ${entry.type === 'ws-text' ? 'text' : 'JSON'} protocol of older clients is not served; @deepstream/client v4 and later speak ws-binary`);
          break;
        case 'mqtt':
          this.drop(`${where} (mqtt)`, 'no MQTT endpoint yet');
          break;
        default:
          throw invalid(`${where}: unknown endpoint type ${JSON.stringify(entry.type)}`);
      }
    });
    if (!binary) throw invalid('connectionEndpoints has no ws-binary endpoint; this server always serves its WebSocket endpoint, which the config means to be off');
    return http;
  }

  private websocket(where: string, options: Json): void {
    const map: Record<string, string> = { urlPath: 'path', heartbeatInterval: 'heartbeatInterval', maxAuthAttempts: 'maxAuthAttempts', maxMessageSize: 'maxMessageSize' };
    for (const [from, to] of Object.entries(map)) if (options[from] !== undefined) this.connection[to] = options[from];
    const timeout = options.unauthenticatedClientTimeout;
    if (timeout !== undefined) this.connection.unauthenticatedClientTimeout = timeout === false || timeout === null || (typeof timeout === 'number' && timeout < 0) ? false : timeout;
    // Settings we honour as they are: no write buffering, credentials never logged.
    const honoured = [...Object.keys(map), 'unauthenticatedClientTimeout'];
    if (options.outgoingBufferTimeout === 0) honoured.push('outgoingBufferTimeout');
    if (options.logInvalidAuthData === false) honoured.push('logInvalidAuthData');
    this.rest(`${where}.options`, options, honoured, {
      outgoingBufferTimeout: 'messages are written as they are sent; the socket layer batches them',
      maxBufferByteSize: 'see connection.outgoingBufferLimit for the bytes a slow client may have waiting',
      logInvalidAuthData: 'refused credentials are never logged',
      headers: 'connection headers are not passed to authentication',
    });
  }

  private httpServer(raw: Json | undefined, http: Json | undefined): { healthCheckPath?: string; api: Json } {
    // deepstream's default httpServer serves the health check at /health-check.
    if (raw === undefined || raw === null) return { healthCheckPath: '/health-check', api: {} };
    const { options: rawOptions, ...rest } = raw;
    const server = this.macros.resolve(rest) as Json;
    if (server.name !== undefined || server.path !== undefined) throw invalid(`httpServer: the custom server ${JSON.stringify(server.name ?? server.path)} cannot run here`);
    if (server.type === 'uws') this.drop('httpServer.type (uws)', 'served by Node\'s own http module; the same options apply');
    const { ssl: rawSsl, ...plain } = (rawOptions ?? {}) as Json;
    const options = this.macros.resolve(plain) as Json;
    if (options.host !== undefined) this.settings.host = options.host;
    if (options.port !== undefined) this.settings.port = Number(options.port);
    const api: Json = {};
    for (const key of ['allowAllOrigins', 'origins', 'maxMessageSize'] as const) if (options[key] !== undefined) api[key] = options[key];
    if (http === undefined && Object.keys(api).length > 0) this.drop('httpServer.options (CORS, maxMessageSize)', 'they apply to the http endpoint, which is not configured');
    // Key material stays in its files: fileLoad(key.pem) becomes the path, which tls reads at start.
    const ssl = rawSsl === undefined || rawSsl === null ? undefined : (this.macros.resolve(pemPaths(rawSsl as Json, this.macros)) as Json);
    if (ssl !== undefined) {
      const tls: Json = { key: ssl.key, cert: ssl.cert };
      if (ssl.ca !== undefined) tls.ca = ssl.ca;
      if (ssl.passphrase !== undefined) tls.passphrase = ssl.passphrase;
      if (ssl.dhParams !== undefined) this.drop('httpServer.options.ssl.dhParams', 'TLS 1.3 and ECDHE key exchange need no DH parameters');
      this.settings.tls = tls;
    }
    this.rest('httpServer.options', options, ['host', 'port', 'allowAllOrigins', 'origins', 'maxMessageSize', 'healthCheckPath'], {
      headers: 'the CORS allowed headers are fixed to those the HTTP API reads',
    });
    const path = options.healthCheckPath ?? '/health-check';
    return { healthCheckPath: typeof path === 'string' ? path : undefined, api };
  }

  private unsupported(key: string, value: unknown): void {
    if (value === undefined || value === null) return;
    const section = value as Json;
    switch (key) {
      case 'logger':
        if (section.name !== undefined && section.name !== 'pino') this.drop('logger', `the ${JSON.stringify(section.name)} logger does not exist here; logs are pino: readable lines on a terminal, JSON otherwise`);
        else this.drop('logger', 'logs are pino: readable lines on a terminal, JSON otherwise; the level comes from logLevel');
        return;
      case 'monitoring':
        this.drop('monitoring', section.type === 'none' ? 'nothing to carry over (type: none)' : 'deepstream monitoring does not exist here; add @deepstream-ts/plugin-metrics-prometheus for GET /metrics');
        return;
      case 'telemetry':
        this.drop('telemetry', 'nothing is ever sent anywhere');
        return;
      case 'plugins':
        for (const [name, plugin] of Object.entries(section)) {
          const p = plugin as Json;
          if (p?.name === 'heap-snapshot' || p?.name === 'aws') this.drop(`plugins.${name}`, `deepstream's ${String(p.name)} plugin has no equivalent here`);
          else throw invalid(`plugins.${name}: the custom plugin ${JSON.stringify(p?.name ?? p?.path)} cannot run here; write it as a deepstream-ts plugin`);
        }
        return;
      default:
        this.drop(key, "deepstream's internal tuning; the plugins here manage their own");
    }
  }

  private sameNames(use: string, key: string, section: Json | undefined, names: readonly string[]): PluginUse {
    if (section === undefined || section === null) return { use, from: key };
    const options = pick(section, names);
    for (const prefixes of ['storageExclusionPrefixes', 'storageHotPathPrefixes']) if (options[prefixes] === null) options[prefixes] = [];
    this.rest(key, section, names);
    return Object.keys(options).length > 0 ? { use, options, from: key } : { use, from: key };
  }

  /** Keys of `options` not taken: dropped with the reason known for them, else as unknown. */
  private rest(where: string, options: Json, taken: readonly string[], reasons: Record<string, string> = {}): void {
    for (const key of Object.keys(options)) {
      if (taken.includes(key)) continue;
      this.drop(`${where}.${key}`, reasons[key] ?? 'not an option deepstream 7 documents here, and none of ours');
    }
  }

  private drop(key: string, why: string): void {
    this.dropped.push({ key, why });
  }
}

/** `fileLoad(x.pem)` values as `file(x.pem)`: the same PEM, read by `tls` from the path. */
function pemPaths(ssl: Json, macros: Macros): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(ssl)) {
    const macro = typeof value === 'string' ? parseMacro(value) : undefined;
    out[key] = macro?.kind === 'fileLoad' && !/\.(ya?ml|json)$/i.test(macro.path) ? macros.path(macro.path) : value;
  }
  return out;
}

function pick(options: Json, names: readonly string[]): Json {
  const out: Json = {};
  for (const name of names) if (options[name] !== undefined) out[name] = options[name];
  return out;
}

/** `{ host, port, user, password }` as a connection URL; credentials percent-encoded. */
function urlOf(scheme: 'redis' | 'postgres', options: Json, defaultPort: number, path: unknown): string {
  const user = options.user === undefined ? '' : encodeURIComponent(String(options.user));
  const password = options.password === undefined || options.password === '' ? '' : `:${encodeURIComponent(String(options.password))}`;
  const auth = user !== '' || password !== '' ? `${user}${password}@` : '';
  const host = options.host === undefined || options.host === '' ? '127.0.0.1' : String(options.host);
  const port = options.port === undefined || options.port === '' ? defaultPort : Number(options.port);
  const tail = path === undefined || path === '' ? '' : `/${encodeURIComponent(String(path))}`;
  return `${scheme}://${auth}${host}:${port}${tail}`;
}
