import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createHooks, type AuthenticationRequest, type AuthorizationFacts, type AuthorizationRequest, type HookFailure, type KernelHooks } from './hooks.ts';
import { Router } from './router.ts';
import { KERNEL, ServiceRegistry, type Services } from './services.ts';
import { ClusterNode } from './cluster/node.ts';
import { LOCAL_CLUSTER } from './cluster/local-transport.ts';
import { Inspection } from './util/inspection.ts';
import { DeepstreamError, describeError } from './errors.ts';
import { HttpRoutes, type HttpHandler, type HttpRouteOptions } from './http/routes.ts';
import { loadTlsMaterial, resolveConfig, type DeepstreamConfig, type ResolvedConfig } from './config/options.ts';
import { createLogger } from './logger.ts';
import { resolvePlugins, type ResolvedPlugin } from './plugins/resolve.ts';
import { orderPlugins, withTimeout } from './plugins/loader.ts';
import type { PluginContext } from './plugins/context.ts';
import type { PluginManifest } from './plugins/manifest.ts';
import { PermissionGate, type TopicAccess } from './permissions.ts';
import { installLastResort } from './process/last-resort.ts';
import { originOf } from './plugins/origin.ts';
import { Session, type SessionEnvironment } from './session/session.ts';
import { SessionRegistry } from './session/registry.ts';
import { LoginGuard, type LoginResult } from './session/login-guard.ts';
import { WebSocketTransport } from './transport/websocket.ts';
import type { Connection, ConnectionInfo, Transport, TransportFactory, TransportHost, UpgradeHandler } from './transport/transport.ts';
import { KERNEL_VERSION } from './version.ts';
import type { Message, TOPIC } from './protocol/messages.ts';
import type { TopicHandler } from './router.ts';

export interface KernelOptions {
  /** Use this logger instead of creating one from `logLevel`. */
  logger?: Logger;
  /** Directory that plugin package names are resolved from; default: the working directory. */
  baseDir?: string;
  /** Values that win over the config and the environment (CLI flags). */
  overrides?: DeepstreamConfig;
}

type Teardown = () => void | Promise<void>;

const enum Phase {
  Created,
  Starting,
  Running,
  Stopping,
  Stopped,
}

/**
 * The kernel: one HTTP server carrying the WebSocket endpoint, the session registry, the hook
 * bus, topic routing, services and the plugins that bring every feature. It knows no feature.
 * No global state: several kernels can live in one process.
 */
export class Kernel {
  /** The version plugins are checked against. */
  static readonly version = KERNEL_VERSION;

  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly hooks: KernelHooks;
  readonly sessions: SessionRegistry;
  readonly http = new HttpRoutes();
  private readonly router: Router;
  private readonly services = new ServiceRegistry();
  private readonly permissions: PermissionGate;
  private readonly logins: LoginGuard;
  private readonly server: Server;
  private readonly transportFactories: Array<{ owner: string; create: TransportFactory }> = [];
  private readonly transports: Transport[] = [];
  private readonly upgrades = new Map<string, { owner: string; handler: UpgradeHandler }>();
  private readonly teardowns: Array<{ plugin: string; run: Teardown }> = [];
  private readonly environment: SessionEnvironment;
  private readonly cluster: ClusterNode;
  private phase = Phase.Created;
  private plugins: ResolvedPlugin[] = [];
  private removeLastResort: (() => void) | undefined;

  constructor(config: DeepstreamConfig, options: KernelOptions = {}) {
    this.config = resolveConfig(config, { baseDir: options.baseDir, overrides: options.overrides });
    this.log = options.logger ?? createLogger({ level: this.config.logLevel });
    const report = (failure: HookFailure) => this.reportFailure(failure);
    this.hooks = createHooks(report);
    this.permissions = new PermissionGate(this.hooks);
    this.router = new Router(this.permissions, report);
    this.sessions = new SessionRegistry(this.log, this.config.connection.maxUnauthenticatedPerAddress);
    this.logins = new LoginGuard(this.hooks, this.config.connection.loginBackoff, this.log);
    // Provided now so that plugins subscribe during setup; it joins the cluster before boot.
    this.cluster = new ClusterNode(this.config.serverName, this.log.child({ plugin: 'cluster' }));
    this.services.provide('cluster', this.cluster, KERNEL);
    this.services.provide('inspection', new Inspection(), KERNEL);
    this.teardowns.push({ plugin: KERNEL, run: () => this.cluster.close() });
    this.environment = {
      hooks: this.hooks,
      router: this.router,
      options: this.config.connection,
      log: this.log,
      authenticate: (authData, connection) => this.authenticate(authData, connection),
      onOpen: (session) => {
        this.sessions.markAuthenticated(session);
        this.hooks.authenticated.call(session);
      },
      onClose: (session) => {
        this.sessions.remove(session);
        this.hooks.disconnect.call(session);
      },
    };
    const onRequest: RequestListener = (request, response) =>
      this.http.handle(request, response, (owner, error) => this.log.error({ plugin: owner, err: error }, 'HTTP handler failed'));
    // With TLS, HTTPS and wss:// share the one listener exactly as HTTP and ws:// do without it.
    const { tls } = this.config;
    this.server = tls === undefined ? createServer(onRequest) : createHttpsServer(loadTlsMaterial(tls, this.config.baseDir), onRequest);
    // One listener for every transport's upgrade path; a path nobody took, or any once stopping, is cut.
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const handler = this.phase === Phase.Running ? this.upgrades.get(request.url ?? '')?.handler : undefined;
      if (handler === undefined) socket.destroy();
      else handler(request, socket, head);
    });
  }

  /** Names and versions of the loaded plugins, in setup order. */
  get pluginNames(): string[] {
    return this.plugins.map((p) => `${p.manifest.name}@${p.manifest.version}`);
  }

  /** A service by name, for operators and tests; `undefined` when nobody provides it. */
  service<K extends keyof Services>(name: K): Services[K] | undefined {
    return this.services.find(name);
  }

  get address(): { host: string; port: number } {
    const address = this.server.address() as AddressInfo | null;
    return { host: this.config.host, port: address?.port ?? this.config.port };
  }

  /**
   * Every login's one door: the login backoff (`connection.loginBackoff`), then the authentication
   * strategies. Sessions use it, and so must any plugin that checks credentials (`ctx.authenticate`).
   */
  authenticate(authData: AuthenticationRequest['authData'], connection: ConnectionInfo): Promise<LoginResult> {
    return this.logins.authenticate(authData, connection);
  }

  /** Loads and sets up plugins, then listens. Rejects (and cleans up) on any plugin or listen error. */
  async start(): Promise<this> {
    if (this.phase !== Phase.Created) throw new DeepstreamError('DS_KERNEL_STATE', 'start() may be called once');
    this.phase = Phase.Starting;
    try {
      this.plugins = orderPlugins(await resolvePlugins(this.config.plugins, this.config.baseDir), KERNEL_VERSION, this.services.kernelServices());
      this.installLastResort();
      for (const plugin of this.plugins) await this.setUp(plugin);
      await this.joinCluster();
      await this.hooks.boot.promise();
      await this.listen();
      const { connection } = this.config;
      this.sessions.startHeartbeat(connection.heartbeatInterval);
      // The kernel's own endpoint first, then those plugins added, all through the same door.
      const factories = [{ owner: KERNEL, create: (host: TransportHost) => new WebSocketTransport(host, connection, host.open, host.log) }, ...this.transportFactories];
      for (const { owner, create } of factories) {
        const transport = create({
          server: this.server,
          upgrade: (path, handler) => this.addUpgrade(path, handler, owner),
          open: (c) => this.openSession(c),
          log: owner === KERNEL ? this.log : this.log.child({ plugin: owner }),
        });
        this.transports.push(transport);
        await transport.start();
      }
      this.phase = Phase.Running;
      this.log.info({ host: this.config.host, port: this.address.port, path: connection.path, tls: this.config.tls !== undefined, plugins: this.pluginNames, serverName: this.config.serverName }, 'deepstream-ts is ready');
      await this.hooks.ready.promise();
      return this;
    } catch (error) {
      await this.closeEverything();
      this.phase = Phase.Stopped;
      throw error;
    }
  }

  /** Graceful stop: refuse new connections, close sockets cleanly, close plugins in reverse order. */
  async stop(): Promise<void> {
    if (this.phase === Phase.Stopping || this.phase === Phase.Stopped) return;
    this.phase = Phase.Stopping;
    this.log.info('shutting down');
    await this.hooks.beforeShutdown.promise().catch((error: unknown) => this.log.error({ err: error }, 'beforeShutdown failed'));
    await this.closeEverything();
    await this.hooks.shutdown.promise().catch((error: unknown) => this.log.error({ err: error }, 'shutdown hook failed'));
    this.phase = Phase.Stopped;
    this.log.info('stopped');
  }

  /** From here on, an error no plugin handled is logged with the plugin's name instead of ending the process. */
  private installLastResort(): void {
    const origins = new Map<string, string>();
    for (const { manifest } of this.plugins) {
      const dir = originOf(manifest);
      if (dir !== undefined) origins.set(dir, manifest.name);
    }
    this.removeLastResort = installLastResort({
      origins,
      report: (failure, plugin) => {
        this.log.error({ plugin, err: failure.cause }, failure.message);
        this.hooks.error.call({ hook: 'process', plugin, error: failure });
      },
    });
  }

  private async closeEverything(): Promise<void> {
    this.sessions.stopHeartbeat();
    this.server.close();
    for (const transport of this.transports.splice(0)) await transport.stop();
    for (const { plugin, run } of this.teardowns.splice(0).reverse()) {
      try {
        await run();
      } catch (error) {
        this.log.error({ plugin, err: error }, 'plugin failed to close');
      }
    }
    this.server.closeAllConnections();
    this.removeLastResort?.();
    this.removeLastResort = undefined;
  }

  /** Starts the cluster node over the configured cluster transport, or alone over the local one. */
  private async joinCluster(): Promise<void> {
    const provided = this.services.find('clusterTransport') ?? LOCAL_CLUSTER;
    try {
      await this.cluster.start(provided.transport, provided.timing);
    } catch (error) {
      throw new DeepstreamError('DS_CLUSTER_UNAVAILABLE', `cannot join the cluster over ${provided.transport.description}: ${describeError(error)}`, { cause: error });
    }
    if (!provided.transport.alone) this.log.info({ transport: provided.transport.description, serverName: this.config.serverName }, 'joined the cluster');
  }

  private async listen(): Promise<void> {
    const { host, port } = this.config;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) =>
        reject(new DeepstreamError('DS_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${describeError(error)}`, { cause: error }));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  private async setUp(plugin: ResolvedPlugin): Promise<void> {
    const { manifest, options } = plugin;
    // Registered before setup so that a setup failing half-way still releases what it acquired.
    let ctx: PluginContext<object> | undefined;
    if (manifest.close !== undefined) this.teardowns.push({ plugin: manifest.name, run: () => manifest.close?.(ctx as PluginContext<object>) });
    ctx = this.contextFor(manifest, options);
    await withTimeout(() => manifest.setup(ctx), this.config.pluginSetupTimeout, manifest.name);
    this.services.assertProvided(manifest);
    this.log.debug({ plugin: manifest.name, version: manifest.version }, 'plugin set up');
  }

  private contextFor(manifest: PluginManifest<object>, options: object): PluginContext<object> {
    const { hooks, router, permissions } = this;
    const { name } = manifest;
    const services = this.services.accessFor(manifest, this.services.kernelServices());
    const teardowns: Teardown[] = [];
    // One entry for the plugin's onClose teardowns (newest first); it runs before the manifest's close.
    this.teardowns.push({ plugin: name, run: async () => { for (const t of teardowns.reverse()) await t(); } });
    return Object.freeze({
      name,
      options,
      log: this.log.child({ plugin: name }),
      hooks,
      config: this.config,
      serverName: this.config.serverName,
      http: { add: (prefix: string, handler: HttpHandler, options?: HttpRouteOptions) => this.http.add(prefix, handler, name, options) },
      claim: <F extends AuthorizationFacts>(topic: TOPIC, handler: TopicHandler<F>, access?: TopicAccess<F>) => router.claim(topic, name, handler, access),
      ...services,
      authorize: (request: AuthorizationRequest, ...old: unknown[]) => {
        if (request instanceof Session || old.length > 0 || typeof request?.permission !== 'string') throw removedApi(name, 'ctx.authorize(session, message, name, ...)', 'declare permissions in ctx.claim(topic, handler, access), or pass one request: ctx.authorize({ session, resource, name, permission, facts })');
        return permissions.authorize(request);
      },
      admit: (session: Session, message: Message) => router.verdictFor(session, message),
      permittedNames: () => {
        throw removedApi(name, 'ctx.permittedNames', 'declare the permission in ctx.claim(topic, handler, access): the router checks each name and the handler receives the permitted ones');
      },
      authenticate: (authData: AuthenticationRequest['authData'], connection: ConnectionInfo) => this.authenticate(authData, connection),
      addTransport: (create: TransportFactory) => void this.transportFactories.push({ owner: name, create }),
      onClose: (teardown: Teardown) => teardowns.push(teardown),
    });
  }

  private addUpgrade(path: string, handler: UpgradeHandler, owner: string): void {
    const taken = this.upgrades.get(path);
    if (taken !== undefined) throw new DeepstreamError('DS_TOPIC_ALREADY_CLAIMED', `plugin "${owner}" wants WebSocket upgrades on ${path}, which "${taken.owner}" already takes`);
    this.upgrades.set(path, { owner, handler });
  }

  private openSession(connection: Connection): Session {
    const session = new Session(connection, this.environment);
    const cap = this.config.connection.maxUnauthenticatedPerAddress;
    if (!this.sessions.add(session)) {
      session.reject(`maxUnauthenticatedPerAddress (${cap}) reached: too many connections from this address are not logged in`);
      return session;
    }
    this.hooks.connection.call(session);
    return session;
  }

  private reportFailure(failure: HookFailure): void {
    this.log.error({ plugin: failure.plugin, hook: failure.hook, err: failure.error.cause ?? failure.error }, failure.error.message);
    this.hooks.error.call(failure);
  }
}

/** A call a plugin written for an older kernel makes: say what replaced it. */
function removedApi(plugin: string, call: string, instead: string): DeepstreamError {
  return new DeepstreamError('DS_PLUGIN_API_REMOVED', `plugin "${plugin}" called ${call}, which no longer exists: ${instead} (core/README.md, "Permissions")`);
}

/** Creates and starts a server from a config object. */
export async function startServer(config: DeepstreamConfig, options?: KernelOptions): Promise<Kernel> {
  return new Kernel(config, options).start();
}
