import type { Logger } from 'pino';
import type { AuthenticationRequest, AuthorizationFacts, AuthorizationRequest, AuthorizationVerdict, KernelHooks } from '../hooks.ts';
import type { TopicAccess } from '../permissions.ts';
import type { TopicHandler } from '../router.ts';
import type { Services } from '../services.ts';
import type { TOPIC, Message } from '../protocol/messages.ts';
import type { Session } from '../session/session.ts';
import type { HttpHandler, HttpRouteOptions } from '../http/routes.ts';
import type { ResolvedConfig } from '../config/options.ts';
import type { ConnectionInfo, TransportFactory } from '../transport/transport.ts';
import type { LoginResult } from '../session/login-guard.ts';

/** Everything a plugin may touch. One context per plugin: it names the plugin in every error and log line. */
export interface PluginContext<Options extends object = object> {
  /** The plugin's name: use it as the tap name on every hook. */
  readonly name: string;
  /** The plugin's defaults merged with the user's options. */
  readonly options: Readonly<Options>;
  /** A child logger whose lines carry `plugin: name`. */
  readonly log: Logger;
  /** The kernel's frozen hook table. */
  readonly hooks: KernelHooks;
  /** The whole resolved server config, read-only. */
  readonly config: Readonly<ResolvedConfig>;
  /** This node's name in a cluster. */
  readonly serverName: string;
  /**
   * Become the one owner of a topic; a second claim fails at start, naming both plugins. `access`
   * declares which permission each action needs and the facts the feature offers about its
   * resource: the router asks the permission plugins before `handler` runs (SECURITY §3). A claim
   * without `access` is never asked about.
   */
  claim<F extends AuthorizationFacts = AuthorizationFacts>(topic: TOPIC, handler: TopicHandler<F>, access?: TopicAccess<F>): void;
  /** Offer a typed service to other plugins. */
  provide<K extends keyof Services>(name: K, service: Services[K]): void;
  /** Use a service another plugin (set up earlier: declare it as a dependency) or the kernel provides. */
  use<K extends keyof Services>(name: K): Services[K];
  /** Like `use`, but `undefined` when no plugin provides the service (an optional need). */
  find<K extends keyof Services>(name: K): Services[K] | undefined;
  /**
   * Asks the permission plugins about work that comes from no wire message of `request.session`
   * (an HTTP batch's checks, a listener offered a name, a write judged again after another node
   * won): the same door the router uses. Resolves `ALLOWED` when no permission plugin is configured.
   */
  authorize(request: AuthorizationRequest): Promise<AuthorizationVerdict>;
  /**
   * Asks, as the router would, whether `session` may send `message`: the permissions the topic's
   * owner declared, each name of a bulk message on its own (the first denial wins). For a caller
   * that must answer before the message is delivered (the HTTP API's event emits).
   */
  admit(session: Session, message: Message): Promise<AuthorizationVerdict>;
  /**
   * Checks credentials as every login is checked: the login backoff (`connection.loginBackoff`),
   * then the `authenticate` strategies. Use it instead of calling `hooks.authenticate` directly, so
   * that a way in of your own cannot be used to guess around the backoff. Never rejects;
   * `backoff` is set when the backoff refused without asking the strategies.
   */
  authenticate(authData: AuthenticationRequest['authData'], connection: ConnectionInfo): Promise<LoginResult>;
  /** Plain HTTP routes on the server's port (WebSocket upgrades are the kernel's). */
  readonly http: PluginHttp;
  /**
   * Adds a way in for clients (MQTT, JSON over WebSocket, ...). The kernel starts it once the server
   * listens, after its own WebSocket endpoint, and stops it first at shutdown.
   */
  addTransport(create: TransportFactory): void;
  /** Runs at shutdown, before the manifest's `close`, in reverse order of registration. */
  onClose(teardown: () => void | Promise<void>): void;
}

export interface PluginHttp {
  /**
   * Serve every request whose path starts with `prefix` (the longest prefix wins), for the methods
   * in `options.methods` (default GET, POST, OPTIONS; any method Node parses may be listed).
   */
  add(prefix: string, handler: HttpHandler, options?: HttpRouteOptions): void;
}
