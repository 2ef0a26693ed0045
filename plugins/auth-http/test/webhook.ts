import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Behaviour = (request: Received, response: ServerResponse) => void;

/**
 * A real local webhook whose behaviour each test sets: answer, stall, redirect or garbage. Every
 * request is recorded with its parsed JSON body.
 */
export function useWebhook(): { url(path?: string): string; behave(behaviour: Behaviour): void; requests: Received[]; garbageUrl(): string; downUrl(): string } {
  const requests: Received[] = [];
  let behaviour: Behaviour = (_request, response) => response.end();
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      requests.push(received);
      behaviour(received, response);
    });
  });
  // Speaks something that is not HTTP, then hangs up.
  const garbage: TcpServer = createTcpServer((socket) => socket.end('SSH-2.0-definitely-not-http\r\n\r\n'));
  let port = 0;
  let garbagePort = 0;
  let downPort = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    garbagePort = (garbage.address() as AddressInfo).port;
    // A port that was free a moment ago: connection refused.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    downPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => garbage.close(resolve));
  });
  return {
    url: (path = '/auth') => `http://127.0.0.1:${port}${path}`,
    garbageUrl: () => `http://127.0.0.1:${garbagePort}/auth`,
    downUrl: () => `http://127.0.0.1:${downPort}/auth`,
    behave(next) {
      behaviour = next;
      requests.length = 0;
    },
    requests,
  };
}

export function reply(status: number, body?: string | object, contentType?: string): Behaviour {
  return (_request, response) => {
    if (body === undefined) return void response.writeHead(status).end();
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': contentType ?? (typeof body === 'string' ? 'text/plain' : 'application/json') });
    response.end(text);
  };
}
