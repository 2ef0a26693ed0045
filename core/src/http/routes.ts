import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeepstreamError } from '../errors.ts';

export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** The only methods the server answers (HTTP_AND_CONFIG §1); routes never see any other. */
const SUPPORTED_METHODS = 'GET, POST, OPTIONS';

/**
 * Plain HTTP requests on the server's port, routed by path prefix (HTTP_AND_CONFIG §1): the
 * longest matching prefix wins; nothing matching answers 404 `Endpoint not found.`; methods other
 * than GET, POST and OPTIONS answer 405 whatever the path.
 */
export class HttpRoutes {
  private routes: Array<{ prefix: string; owner: string; handler: HttpHandler }> = [];

  add(prefix: string, handler: HttpHandler, owner = 'kernel'): void {
    const twin = this.routes.find((route) => route.prefix === prefix);
    if (twin !== undefined) {
      throw new DeepstreamError('DS_TOPIC_ALREADY_CLAIMED', `plugin "${owner}" registered HTTP path ${prefix}, which "${twin.owner}" already serves`);
    }
    this.routes.push({ prefix, owner, handler });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** @internal the kernel's request listener */
  handle(request: IncomingMessage, response: ServerResponse, onError: (owner: string, error: unknown) => void): void {
    if (request.method !== 'GET' && request.method !== 'POST' && request.method !== 'OPTIONS') {
      response.setHeader('Allow', SUPPORTED_METHODS);
      return sendText(response, 405, `Unsupported method. Supported methods: ${SUPPORTED_METHODS}`);
    }
    const url = request.url ?? '/';
    const route = this.routes.find((candidate) => url.startsWith(candidate.prefix));
    if (route === undefined) return sendText(response, 404, 'Endpoint not found.');
    const fail = (error: unknown) => {
      onError(route.owner, error);
      if (!response.headersSent) sendText(response, 500, 'Internal server error.');
      else response.destroy();
    };
    try {
      const pending = route.handler(request, response);
      if (pending !== undefined) pending.catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}

/** The reference server's error body shape: text, then a blank line. */
export function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${text}\r\n\r\n`);
}
