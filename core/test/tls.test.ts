/**
 * TLS on the kernel's one listener: wss:// and HTTPS side by side, certificate verification left
 * on (the test trusts its own self-signed certificate through `ca`), and config errors that name
 * the key and file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { DeepstreamClient } from '@deepstream/client';
import { Kernel, definePlugin, isDeepstreamError } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway P-256 certificate for 127.0.0.1, valid for a day. */
function selfSigned(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { key, cert };
}

const hello = definePlugin({
  name: 'tls-test-http',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.http.add('/hello', (_request, response) => void response.end('hello over tls'));
  },
});

function httpsGet(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, ca === undefined ? {} : { ca }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('TLS', { skip: hasOpenssl() ? false : 'openssl is not installed' }, () => {
  let dir: string;
  let files: { key: string; cert: string };
  let certPem: string;
  let server: TestServer;
  let wss: string;
  const clients: DeepstreamClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-tls-'));
    files = selfSigned(dir, 'server');
    certPem = readFileSync(files.cert, 'utf8');
    // Relative paths are resolved from the config's directory (baseDir).
    server = await startTestServer({ tls: { key: 'server.key.pem', cert: 'server.cert.pem' }, plugins: [authOpen, events, hello] }, { baseDir: dir });
    wss = `wss://127.0.0.1:${server.port}/deepstream`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const official = (url: string, ca: string) => {
    const c = new DeepstreamClient(url, { socketOptions: { ca }, maxReconnectAttempts: 0 } as never);
    clients.push(c);
    return c;
  };

  it('serves the official client over wss:// with verification on, events included', async () => {
    const a = official(wss, certPem);
    const b = official(wss, certPem);
    await a.login({ username: 'a' });
    await b.login({ username: 'b' });
    const received = new Promise((resolve) => a.event.subscribe('tls/news', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the client batches subscriptions
    b.event.emit('tls/news', { secure: true });
    assert.deepEqual(await received, { secure: true });
    assert.equal(server.logs.find((l) => l.msg === 'deepstream-ts is ready')?.tls, true);
  });

  it('serves HTTP routes over HTTPS on the same port', async () => {
    const { status, body } = await httpsGet(`https://127.0.0.1:${server.port}/hello`, certPem);
    assert.equal(status, 200);
    assert.equal(body, 'hello over tls');
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await assert.rejects(httpsGet(`https://127.0.0.1:${server.port}/hello`), /self[- ]signed/i);
    const ws = new WebSocket(wss);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    assert.match(error.message, /self[- ]signed/i);
  });

  it('does not speak plain ws:// on a TLS port', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/deepstream`);
    await new Promise<void>((resolve) => {
      ws.once('error', () => resolve());
      ws.once('close', () => resolve());
    });
    assert.notEqual(ws.readyState, WebSocket.OPEN);
  });

  it('takes PEM text instead of paths', async () => {
    const other = selfSigned(dir, 'inline');
    const pem = { key: readFileSync(other.key, 'utf8'), cert: readFileSync(other.cert, 'utf8') };
    const s = await startTestServer({ tls: pem, plugins: [authOpen] });
    try {
      const c = official(`wss://127.0.0.1:${s.port}/deepstream`, pem.cert);
      await c.login({ username: 'inline' });
      c.close();
    } finally {
      await s.stop();
    }
  });

  const refused = (tls: unknown, pattern: RegExp) => () =>
    assert.throws(
      () => new Kernel({ port: 0, tls } as never, { baseDir: dir }),
      (error) => isDeepstreamError(error, 'DS_CONFIG_INVALID') && pattern.test(error.message),
    );

  it('refuses to start on a missing file, naming the key and the file', () => refused({ key: 'nope.pem', cert: 'server.cert.pem' }, /tls\.key: cannot read .*nope\.pem/)());
  it('refuses a key that does not match the certificate', () => {
    const other = selfSigned(dir, 'mismatch');
    refused({ key: other.key, cert: files.cert }, /tls: the key, certificate or CA cannot be used/)();
  });
  it('refuses garbage instead of PEM', () => refused({ key: '-----BEGIN PRIVATE KEY-----\nxx\n', cert: files.cert }, /tls: the key, certificate or CA cannot be used/)());
  it('refuses a wrong shape, naming the key', () => {
    refused({ key: files.key }, /tls\.cert must be/)();
    refused({ key: files.key, cert: files.cert, certificate: 'x' }, /unknown key "tls\.certificate"/)();
    refused('server.pem', /tls must be an object/)();
  });
  it('never quotes PEM text in an error', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n';
    assert.throws(() => new Kernel({ port: 0, tls: { key: secret, cert: files.cert } }), (error) => error instanceof Error && !error.message.includes('TOP-SECRET'));
  });
});
