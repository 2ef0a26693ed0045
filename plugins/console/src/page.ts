import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText, type HttpHandler } from '@deepstream-ts/core';
import { sameSecret } from './operators.ts';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const PAGE_DIR = new URL('../page/', import.meta.url);

/** The page may talk to its own origin only (the WebSocket included) and may not be framed: operator clicks are not to be borrowed. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

/** The page's files, read once: the HTML (told where the WebSocket endpoint is), its script and style, and the official client's browser build. */
function loadAssets(websocketPath: string): Map<string, Asset> {
  const read = (file: string) => readFileSync(new URL(file, PAGE_DIR));
  const html = read('index.html').toString('utf8').replace('data-websocket-path=""', `data-websocket-path="${escapeAttribute(websocketPath)}"`);
  const clientBundle = createRequire(import.meta.url).resolve('@deepstream/client/dist/bundle/ds.min.js');
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: Buffer.from(html) }],
    ['/console.js', { type: 'text/javascript; charset=utf-8', body: read('console.js') }],
    ['/console.css', { type: 'text/css; charset=utf-8', body: read('console.css') }],
    ['/ds.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(clientBundle) }],
  ]);
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Everything under the console's path: the static page (which shows nothing until an operator
 * logs in over the WebSocket), and `GET <path>/api/snapshot`, this node's figures and sessions as
 * JSON for scripts, for `Authorization: Bearer <operatorToken>` only (401 otherwise, and always
 * when no token is configured).
 */
export function consoleRoutes(path: string, websocketPath: string, token: string | undefined, snapshot: () => unknown): HttpHandler {
  const assets = loadAssets(websocketPath);
  return (request: IncomingMessage, response: ServerResponse) => {
    const rest = (request.url ?? '').slice(path.length).split('?')[0]!;
    // The route is a prefix: `/consoleX` is somebody else's path, not ours.
    if (rest !== '' && !rest.startsWith('/')) return sendText(response, 404, 'Endpoint not found.');
    if (request.method !== 'GET') {
      response.setHeader('Allow', 'GET');
      return sendText(response, 405, 'Unsupported method. Supported methods: GET');
    }
    if (rest === '/api/snapshot') {
      const header = request.headers.authorization ?? '';
      if (token === undefined || !header.startsWith('Bearer ') || !sameSecret(header.slice(7).trim(), token)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="console"');
        return sendText(response, 401, 'Unauthorized: the console API needs "Authorization: Bearer <operatorToken>"');
      }
      response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      return void response.end(JSON.stringify(snapshot()));
    }
    // Relative links in the page need the trailing slash.
    if (rest === '') {
      response.writeHead(302, { Location: `${path}/` });
      return void response.end();
    }
    const asset = assets.get(rest);
    if (asset === undefined) return sendText(response, 404, 'Endpoint not found.');
    response.writeHead(200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
    response.end(asset.body);
  };
}
