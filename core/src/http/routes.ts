import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeepstreamError } from '../errors.ts';

export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HttpRouteOptions {
  /** The methods this route answers; any other gets 405 with an `Allow` header. Default: GET, POST, OPTIONS. */
  readonly methods?: readonly string[];
}

/** The reference server's methods (HTTP_AND_CONFIG §1): a route's default, and what unrouted paths accept. */
const DEFAULT_METHODS: readonly string[] = ['GET', 'POST', 'OPTIONS'];

interface Route {
  prefix: string;
  owner: string;
  handler: HttpHandler;
  methods: ReadonlySet<string>;
  allow: string;
}

/**
 * Plain HTTP requests on the server's port, routed by path prefix (HTTP_AND_CONFIG §1): the
 * longest matching prefix wins; nothing matching answers 404 `Endpoint not found.`; a method the
 * route does not serve (by default all but GET, POST and OPTIONS) answers 405.
 */
export class HttpRoutes {
  private routes: Route[] = [];

  add(prefix: string, handler: HttpHandler, owner = 'kernel', options: HttpRouteOptions = {}): void {
    const twin = this.routes.find((route) => route.prefix === prefix);
    if (twin !== undefined) {
      throw new DeepstreamError('DS_TOPIC_ALREADY_CLAIMED', `plugin "${owner}" registered HTTP path ${prefix}, which "${twin.owner}" already serves`);
    }
    const methods = (options.methods ?? DEFAULT_METHODS).map((method) => method.toUpperCase());
    this.routes.push({ prefix, owner, handler, methods: new Set(methods), allow: methods.join(', ') });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** @internal the kernel's request listener */
  handle(request: IncomingMessage, response: ServerResponse, onError: (owner: string, error: unknown) => void): void {
    const url = request.url ?? '/';
    const method = request.method ?? 'GET';
    const route = this.routes.find((candidate) => url.startsWith(candidate.prefix));
    if (route === undefined && !DEFAULT_METHODS.includes(method)) return unsupported(response, DEFAULT_METHODS.join(', '));
    if (route === undefined) return sendText(response, 404, 'Endpoint not found.');
    if (!route.methods.has(method)) return unsupported(response, route.allow);
    const fail = (error: unknown) => {
      onError(route.owner, error);
      if (!response.headersSent) sendText(response, 500, 'Internal server error.');
      else response.destroy();
    };
    try {
      const pending: unknown = route.handler(request, response);
      // A JavaScript handler may return anything (`(q, s) => s.end()` returns the response).
      if (pending instanceof Promise) pending.catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}

function unsupported(response: ServerResponse, allow: string): void {
  response.setHeader('Allow', allow);
  sendText(response, 405, `Unsupported method. Supported methods: ${allow}`);
}

/** The reference server's error body shape: text, then a blank line. */
export function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${text}\r\n\r\n`);
}
