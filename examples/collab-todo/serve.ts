/**
 * The collaborative to-do example's static file server: the page, its script and style, and the
 * official client's browser bundle from node_modules. Only the files listed in FILES are served
 * (no directory listing, no path from the URL ever reaches the file system). It is the example's
 * own server; the realtime server serves no static files.
 *
 *   node --conditions=source --import tsx examples/collab-todo/serve.ts    # just this server, on $PORT or 8080
 *   npm run example                                    # this server and the realtime server
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = dirname(createRequire(import.meta.url).resolve('@deepstream/client/package.json'));

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(here, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: join(here, 'style.css'), type: 'text/css; charset=utf-8' },
  // The official client's UMD build: a classic <script> defines window.DeepstreamClient.
  '/vendor/ds.min.js': { file: join(clientDir, 'dist', 'bundle', 'ds.min.js'), type: 'text/javascript; charset=utf-8' },
};

export interface StaticServer {
  /** http://HOST:PORT/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** 0 picks a free port; default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...extra });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'method not allowed\n', undefined, { allow: 'GET, HEAD' });
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path === '/favicon.ico') {
    response.writeHead(204).end();
    return;
  }
  const entry = FILES[path];
  if (entry === undefined) return send(404, 'not found\n');
  let body: Buffer;
  try {
    body = await readFile(entry.file);
  } catch {
    return send(500, `cannot read ${path}\n`);
  }
  send(200, body, entry.type);
}

/** Starts the example's static server; resolves once it listens. */
export async function startStaticServer({ port = 8080, host = '127.0.0.1' }: StaticServerOptions = {}): Promise<StaticServer> {
  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as { port: number }).port;
  return {
    port: actual,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startStaticServer({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' });
  process.stdout.write(`collab-todo page on ${server.url} (expects a deepstream server on port 6020, or pass ?server=ws://...)\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
