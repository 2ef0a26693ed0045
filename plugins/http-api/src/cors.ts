import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRefusal } from './http-io.ts';

export interface CorsOptions {
  readonly allowAllOrigins: boolean;
  readonly origins: readonly string[];
  readonly hostUrl?: string | undefined;
}

const METHODS = ['GET', 'POST', 'OPTIONS'];
const HEADERS = ['X-Requested-With', 'X-HTTP-Method-Override', 'Content-Type', 'Accept'];
const LOWER_CASE_HEADERS = new Set(HEADERS.map((header) => header.toLowerCase()));

/**
 * The origin rules of HTTP_AND_CONFIG §1, applied to every request before anything else: sets the
 * CORS headers of an allowed request, or returns the 403 of a refused one.
 */
export function checkOrigin(request: IncomingMessage, response: ServerResponse, options: CorsOptions): HttpRefusal | undefined {
  if (options.allowAllOrigins) {
    response.setHeader('Access-Control-Allow-Origin', '*');
    return undefined;
  }
  // Browsers always send Origin on cross-origin requests; Referer is the reference's fallback.
  const origin = request.headers.origin ?? request.headers.referer;
  if (origin === undefined) return new HttpRefusal(403, 'CORS is configured for this. All requests must set a valid "Origin" header.');
  if (!options.origins.includes(origin)) return new HttpRefusal(403, `Origin "${origin}" is forbidden.`);
  if (options.hostUrl !== undefined && request.headers.host !== options.hostUrl) return new HttpRefusal(403, 'Forbidden Host.');
  response.setHeader('Access-Control-Allow-Origin', origin);
  response.setHeader('Access-Control-Allow-Credentials', 'true');
  response.setHeader('Vary', 'Origin');
  return undefined;
}

/** An OPTIONS preflight: 204 with the allowed methods and headers, or the refusal. */
export function answerPreflight(request: IncomingMessage, response: ServerResponse): HttpRefusal | undefined {
  const method = request.headers['access-control-request-method'];
  if (method === undefined) return new HttpRefusal(400, 'Missing header "Access-Control-Request-Method".');
  if (!METHODS.includes(method)) return new HttpRefusal(403, `Method ${method} is forbidden. Supported methods: ${METHODS.join(', ')}`);
  const requested = request.headers['access-control-request-headers'];
  if (requested === undefined) return new HttpRefusal(400, 'Missing header "Access-Control-Request-Headers".');
  for (const header of requested.split(',').map((h) => h.trim()).filter((h) => h !== '')) {
    if (!LOWER_CASE_HEADERS.has(header.toLowerCase())) return new HttpRefusal(403, `Header ${header} is forbidden. Supported headers: ${HEADERS.join(', ')}`);
  }
  response.writeHead(204, { 'Access-Control-Allow-Methods': METHODS.join(', '), 'Access-Control-Allow-Headers': HEADERS.join(', ') });
  response.end();
  return undefined;
}
