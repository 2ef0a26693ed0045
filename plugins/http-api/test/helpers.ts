import { DeepstreamClient } from '@deepstream/client';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { definePlugin, type AuthenticationResult, type PluginEntry } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import presence from '@deepstream-ts/plugin-presence';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import storageSqlite from '@deepstream-ts/storage-sqlite';
import httpApi, { type HttpApiOptions } from '@deepstream-ts/plugin-http-api';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
export const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;

/** Refuses `mallory` and any password `wrong`; everything else falls through to open auth. */
export const strictAuth = definePlugin({
  name: 'test-strict-auth',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }): AuthenticationResult | undefined => {
      const data = authData as Record<string, unknown>;
      if (data.username === 'mallory' || data.password === 'wrong') return { isValid: false, clientData: { reason: 'no' } };
      if (data.username === 'carol') return { isValid: true, id: 'carol', clientData: { colour: 'red' }, serverData: { role: 'admin' } };
      return undefined;
    });
  },
});

/** Denies emits on `secret/…`, creating `locked/…`, reading `hidden/…`, the RPC `forbidden`; only admins may notify. */
export const testPermissions = definePlugin({
  name: 'test-permissions',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authorize.tapPromise(ctx.name, async ({ session, name, permission }) => {
      if (name.startsWith('secret/')) return { allowed: false };
      if (name.startsWith('locked/') && permission === 'create') return { allowed: false };
      if (name.startsWith('hidden/') && permission === 'read') return { allowed: false };
      if (name === 'forbidden') return { allowed: false };
      if (name.startsWith('admin/') && (session.serverData as { role?: string } | undefined)?.role !== 'admin') return { allowed: false };
      return undefined;
    });
  },
});

export interface ApiServer extends TestServer {
  /** http://127.0.0.1:PORT */
  base: string;
  client(username?: string): Promise<DeepstreamClient>;
  closeClients(): void;
}

export interface ServerSetup {
  /** Plugins listed first (permission plugins, ...). */
  before?: PluginEntry[];
  after?: PluginEntry[];
  /** The storage connector; SQLite in memory by default. */
  storage?: PluginEntry;
  /** Leave the RPC plugin out (no plugin owns the RPC topic). */
  withoutRpc?: boolean;
}

/** A server with open auth (after `strictAuth`), events, records, presence, RPC and the HTTP API. */
export async function startApiServer(options: Partial<HttpApiOptions> = {}, setup: ServerSetup = {}): Promise<ApiServer> {
  const server = await startTestServer({
    plugins: [
      ...(setup.before ?? []),
      strictAuth,
      authOpen,
      events,
      setup.storage ?? storageSqlite.with({ file: ':memory:' }),
      records,
      presence,
      ...(setup.withoutRpc === true ? [] : [rpc.with({ ackTimeout: 300, responseTimeout: 600 })]),
      httpApi.with(options),
      ...(setup.after ?? []),
    ],
  });
  const clients: DeepstreamClient[] = [];
  return {
    ...server,
    base: `http://127.0.0.1:${server.port}`,
    async client(username = 'ws-user') {
      const c = new DeepstreamClient(server.url, { subscriptionInterval: 20, nativeTimerRegistry: true } as never);
      clients.push(c);
      await c.login({ username });
      return c;
    },
    closeClients() {
      for (const c of clients.splice(0)) c.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, when it is JSON. */
  json: any;
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POST a JSON value (already a string, or serialised here) with the JSON content type. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * A request with full control over method and headers (fetch forbids some, e.g. Host), on a
 * connection of its own: Node's client cannot reuse a socket after a DELETE with a body.
 */
export function raw(
  port: number,
  { method = 'POST', path = '/api', headers = {}, body }: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The reference's text error body: the message and a blank line. */
export const textBody = (message: string) => `${message}\r\n\r\n`;
