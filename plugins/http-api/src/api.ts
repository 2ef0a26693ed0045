import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, sendText, type AuthenticationResult, type ConnectionInfo, type PluginContext, type Transport, type TransportHost } from '@deepstream-ts/core';
import { Batch, outcomeOf } from './batch.ts';
import { answerPreflight, checkOrigin } from './cors.ts';
import { parseEnvelope } from './envelope.ts';
import { ClientGone, HttpRefusal, closeIfUnread, isJsonContentType, readJson, sendJson } from './http-io.ts';
import { HttpSession } from './http-session.ts';
import { parseJif } from './jif.ts';
import { toOperation } from './operations.ts';
import type { HttpApiOptions } from './options.ts';
import { REQUEST_TIMEOUT, SHUTTING_DOWN, isRateLimited } from './results.ts';
import { SharedTable } from './shared-table.ts';
import { Tokens } from './tokens.ts';

const GET_REFUSED = 'Reading records via HTTP GET is not yet implemented, please use a post request instead.';
const INTERNAL_ERROR_TEXT = 'An internal error occurred; the request was not completed.';
const UNSUPPORTED_MEDIA_TYPE = 'Invalid "Content-Type" header. Supported media types: "application/json"';

/** One request in flight, so that shutdown can answer it and close its session. */
interface InFlight {
  readonly http: HttpSession;
  batch?: Batch;
}

/**
 * The HTTP API's endpoints (HTTP_AND_CONFIG §1-2): message POSTs run through a transient session
 * of their own, token logins go through the authentication chain. Also the transport whose host
 * opens those sessions.
 */
export class HttpApi {
  /** Identities of token logins, for the authentication tap; keyed by the session's own info object. */
  readonly identities = new WeakMap<ConnectionInfo, AuthenticationResult>();
  private readonly table: SharedTable;
  private readonly tokens: Tokens;
  private readonly inFlight = new Set<InFlight>();
  private host: TransportHost | undefined;
  private stopped = false;
  /** True once the plugin taps `inbound` last to tell dropped messages (see index.ts). */
  watchesInbound = false;

  constructor(private readonly ctx: PluginContext<HttpApiOptions>) {
    const { tokenExpiry, maxTokens } = ctx.options;
    this.table = new SharedTable(ctx.use('cluster'), 'http-api/tokens', maxTokens, Math.min(tokenExpiry, 60_000));
    this.tokens = new Tokens(this.table, tokenExpiry);
    this.tokens.start();
  }

  /** The kernel's door into sessions; HTTP requests are served once it is open. */
  transport(host: TransportHost): Transport {
    return {
      name: 'http',
      start: async () => void (this.host = host),
      stop: async () => this.stop(),
    };
  }

  readonly serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      await this.route(request, response);
    } catch (error) {
      if (error instanceof ClientGone || response.destroyed) return void response.destroy();
      if (error instanceof HttpRefusal) {
        closeIfUnread(request, response);
        return sendText(response, error.status, error.text);
      }
      this.answerInternalError(request, response, error);
    }
  };

  /**
   * A bug or a plugin's failure while serving: logged once (this logger names the plugin), and
   * answered 500 without internals. The connection stays usable when the body was read.
   */
  private answerInternalError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    this.ctx.log.error({ err: error, url: request.url, remoteAddress: request.socket.remoteAddress }, 'HTTP API request failed');
    if (response.headersSent) return void response.destroy();
    closeIfUnread(request, response);
    sendText(response, 500, INTERNAL_ERROR_TEXT);
  }

  close(): void {
    this.tokens.close();
    this.table.close();
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { options } = this.ctx;
    const url = request.url ?? '/';
    const origin = checkOrigin(request, response, options);
    if (origin !== undefined) throw origin;
    if (request.method === 'OPTIONS') {
      const refusal = answerPreflight(request, response);
      if (refusal !== undefined) throw refusal;
      return;
    }
    if (request.method === 'GET') throw url.startsWith(options.getPath) ? new HttpRefusal(400, GET_REFUSED) : new HttpRefusal(404, 'Endpoint not found.');
    if (!isJsonContentType(request.headers['content-type'])) throw new HttpRefusal(415, UNSUPPORTED_MEDIA_TYPE);
    if (options.enableAuthEndpoint && url.split('?', 1)[0] === `${options.authPath.replace(/\/$/, '')}/logout`) return this.logout(request, response);
    if (options.enableAuthEndpoint && url.startsWith(options.authPath)) return this.tokenLogin(request, response);
    if (url.startsWith(options.postPath)) return this.batch(request, response);
    throw new HttpRefusal(404, 'Endpoint not found.');
  }

  /** POST authPath (HTTP_AND_CONFIG §2.4): the whole body is the authData; success issues a token. */
  private async tokenLogin(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const authData = await readJson(request, this.ctx.options.maxMessageSize, this.ctx.options.maxDrainSize);
    if (authData === null || typeof authData !== 'object' || Array.isArray(authData)) {
      throw new HttpRefusal(400, 'Invalid message: the authentication data must be a JSON object.');
    }
    const connection = connectionInfo(request, this.ctx.config.connection.trustProxy);
    // The kernel's door, as for every login: the login backoff applies here too.
    const result = await this.ctx.authenticate(authData as Record<string, unknown>, connection);
    if (result.backoff !== undefined) {
      // Deliberate difference: deepstream answers 401 to every refusal and allows unlimited guesses.
      response.setHeader('Retry-After', Math.ceil(result.backoff.retryAfter / 1000));
      throw new HttpRefusal(429, `Too many failed logins: ${result.backoff.reason}.`);
    }
    if (!result.isValid) {
      this.logRefusal(connection, authData);
      throw new HttpRefusal(401, 'Invalid authentication data.');
    }
    // A token the strategy handed back is the client's to use (deepstream 7 answers it): later
    // requests bring it as authData {token}, and the strategy checks it again. Else one of ours.
    const token = typeof result.token === 'string' && result.token !== '' ? result.token : this.tokens.issue(result);
    const body: Record<string, unknown> = { token };
    if (result.clientData !== undefined) body.clientData = result.clientData;
    sendJson(response, 200, body);
  }

  /**
   * POST `<authPath>/logout` with `{"token": …}`: a token this plugin issued is refused on every
   * node from now on. Strategies' own tokens are theirs to revoke.
   */
  private async logout(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readJson(request, this.ctx.options.maxMessageSize, this.ctx.options.maxDrainSize);
    const token = (body as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token === '') throw new HttpRefusal(400, 'Invalid message: the "token" parameter must be a non-empty string');
    const outcome = this.tokens.revoke(token);
    if (outcome === 'unknown') throw new HttpRefusal(400, 'Invalid message: the token was not issued by this server.');
    if (outcome === 'full') throw new HttpRefusal(503, 'Too many revoked tokens are remembered right now (maxTokens); try again later.');
    sendJson(response, 200, {});
  }

  /** POST postPath (HTTP_AND_CONFIG §2.1-2.3): log in, check every request, run them all, answer in order. */
  private async batch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { options } = this.ctx;
    const envelope = parseEnvelope(await readJson(request, options.maxMessageSize, options.maxDrainSize), options);
    if (envelope instanceof HttpRefusal) throw envelope;
    const host = this.host;
    if (host === undefined || this.stopped) throw new HttpRefusal(503, 'The server is not accepting HTTP API requests right now.');

    const connection = connectionInfo(request, this.ctx.config.connection.trustProxy);
    const token = envelope.token ?? tokenInPath(request.url ?? '/', options.postPath);
    // A token of ours stands for its identity, or is refused outright (forged, expired, revoked);
    // any other token goes through the strategies as {token}.
    const checked = envelope.authData === undefined && token !== undefined ? this.tokens.check(token) : undefined;
    if (checked !== undefined) this.identities.set(connection, 'identity' in checked ? checked.identity : REFUSED_TOKEN);
    const authData = envelope.authData ?? (token === undefined ? {} : { token });

    const deadline = Date.now() + options.requestTimeout;
    const entry: InFlight = { http: new HttpSession(host.open, connection, this.watchesInbound) };
    this.inFlight.add(entry);
    let timer: NodeJS.Timeout | undefined;
    try {
      const loggedIn = await Promise.race([
        entry.http.login(authData),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.requestTimeout))),
      ]);
      clearTimeout(timer);
      if (this.stopped) throw new HttpRefusal(503, 'The server is shutting down.');
      if (loggedIn === 'timeout') throw new HttpRefusal(503, `Authentication did not complete within ${options.requestTimeout} ms.`);
      if (!loggedIn) {
        // The session has logged the refusal; only the credentials, when asked for, are news.
        if (options.logInvalidAuthData) this.logRefusal(connection, authData);
        throw new HttpRefusal(401, 'Unsuccessful authentication attempt.');
      }

      const operations = [];
      for (const [index, element] of envelope.requests.entries()) {
        const parsed = parseJif(element);
        if (typeof parsed === 'string') throw new HttpRefusal(400, `Failed to parse JIF object at index ${index}. Reason: ${parsed}.`);
        operations.push(toOperation(parsed, `http-${index}`));
      }
      const batch = (entry.batch = new Batch(this.ctx.admit, entry.http, operations));
      timer = setTimeout(() => batch.end(REQUEST_TIMEOUT), Math.max(0, deadline - Date.now()));
      const results = await batch.start();
      // Every request refused by a rate limit: the whole request was, say so in the status too.
      sendJson(response, results.every(isRateLimited) ? 429 : 200, { result: outcomeOf(results), body: results });
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(entry);
      entry.http.close();
    }
  }

  /** Transport stop (shutdown): requests in flight are answered with what they have, sessions closed. */
  private stop(): void {
    this.stopped = true;
    for (const { http, batch } of this.inFlight) {
      batch?.end(SHUTTING_DOWN);
      http.close();
    }
  }

  private logRefusal(connection: ConnectionInfo, authData: unknown): void {
    const details: Record<string, unknown> = { remoteAddress: connection.remoteAddress };
    if (this.ctx.options.logInvalidAuthData) details.authData = authData;
    this.ctx.log.info(details, 'HTTP API login refused');
  }
}

const REFUSED_TOKEN: AuthenticationResult = Object.freeze({ isValid: false });

/** Who sent the request, as authentication strategies see any connection (SECURITY §1). */
function connectionInfo(request: IncomingMessage, trustProxy: boolean): ConnectionInfo {
  return {
    transport: 'http',
    remoteAddress: clientAddress(request, trustProxy),
    headers: request.headers,
    ephemeral: true,
  };
}

/** `POST /api/<token>`: the one path segment after postPath, when there is one. */
function tokenInPath(url: string, postPath: string): string | undefined {
  const path = url.split('?', 1)[0]!;
  const base = postPath.endsWith('/') ? postPath : `${postPath}/`;
  if (!path.startsWith(base)) return undefined;
  const segment = path.slice(base.length);
  if (segment === '' || segment.includes('/')) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
