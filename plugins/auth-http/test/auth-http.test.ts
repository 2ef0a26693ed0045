import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepstreamError, type DeepstreamConfig } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import authHttp, { type AuthHttpOptions } from '@deepstream-ts/plugin-auth-http';
import { assertNotLogged, assertTooManyAttempts, assertUnauthenticatedTimeout, official, pause, refusal, server, sessionOf } from '../../../test/helpers/auth.ts';
import { reply, useWebhook } from './webhook.ts';

const webhook = useWebhook();
const FAST: Partial<AuthHttpOptions> = { requestTimeout: 300, retryAttempts: 2, retryInterval: 50 };
const EXCEEDED = { error: 'AUTH_RETRY_ATTEMPTS_EXCEEDED' };
/** Secrets used in logins across this file; none may ever reach a log line. */
const SECRETS = ['pw-secret-1', 'tok-secret-2', 'pw-secret-3'] as const;
const creds = { username: 'ok', password: SECRETS[0], token: SECRETS[1] };
const made = (s: TestServer, msg: RegExp) => s.logs.filter((line) => msg.test(line.msg));

describe('auth-http as the only strategy', () => {
  let s: TestServer;
  before(async () => {
    s = await server({ plugins: [authHttp.with({ endpointUrl: webhook.url(), promoteToHeader: ['token'], ...FAST })] });
  });

  it('POSTs connectionData and authData as JSON, promoting fields to headers', async () => {
    webhook.behave(reply(200, 'ok'));
    await official(s.url).login(creds);
    assert.equal(webhook.requests.length, 1);
    const [request] = webhook.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.url, '/auth');
    assert.match(request!.headers['content-type']!, /^application\/json/);
    assert.equal(request!.headers.token, SECRETS[1]);
    assert.equal(request!.headers.password, undefined, 'only promoted fields become headers');
    const body = request!.body as { authData: unknown; connectionData: { remoteAddress: string; headers: Record<string, string> } };
    assert.deepEqual(body.authData, creds);
    assert.equal(body.connectionData.remoteAddress, '127.0.0.1');
    assert.equal(body.connectionData.headers.upgrade, 'websocket');
    assert.equal('referer' in body.connectionData, false);
  });

  it('takes a text body as the user id', async () => {
    webhook.behave(reply(200, 'alice'));
    await official(s.url).login({ username: 'x', password: SECRETS[2] });
    sessionOf(s, 'alice');
  });

  it('takes id, clientData and serverData from a JSON body and ignores other fields', async () => {
    webhook.behave(reply(200, { id: 'bob', clientData: { theme: 'dark' }, serverData: { role: 'admin' }, username: 'ignored' }));
    assert.deepEqual(await official(s.url).login(creds), { theme: 'dark' });
    assert.deepEqual(sessionOf(s, 'bob').serverData, { role: 'admin' });
    webhook.behave(reply(200, { username: 'carol' }));
    await official(s.url).login(creds);
    sessionOf(s, 'OPEN');
  });

  it('logs in without an id on an empty body', async () => {
    webhook.behave(reply(200));
    assert.equal(await official(s.url).login(creds), null);
    sessionOf(s, 'OPEN');
  });

  it('refuses other statuses, passing the body on as clientData', async () => {
    webhook.behave(reply(401, 'wrong password'));
    assert.deepEqual(await refusal(official(s.url), creds), { error: 'wrong password' });
    webhook.behave(reply(403, { reason: 'nope', hint: 'ask an admin' }));
    assert.deepEqual(await refusal(official(s.url), creds), { reason: 'nope', hint: 'ask an admin' });
    webhook.behave(reply(401));
    assert.equal(await refusal(official(s.url), creds), 'INVALID_AUTHENTICATION_DETAILS');
    webhook.behave(reply(401, '{not json', 'application/json'));
    assert.deepEqual(await refusal(official(s.url), creds), { error: '{not json' });
  });

  it('retries retry statuses and succeeds when the endpoint recovers', async () => {
    let calls = 0;
    webhook.behave((request, response) => (++calls < 3 ? reply(504, 'gateway timeout')(request, response) : reply(200, 'recovered')(request, response)));
    await official(s.url).login(creds);
    assert.equal(webhook.requests.length, 3);
    sessionOf(s, 'recovered');
  });

  it('gives up after 1 + retryAttempts requests with AUTH_RETRY_ATTEMPTS_EXCEEDED', async () => {
    const warned = made(s, /unreachable or unwell/).length;
    webhook.behave(reply(503));
    assert.deepEqual(await refusal(official(s.url), creds), EXCEEDED);
    assert.equal(webhook.requests.length, 3);
    assert.equal(made(s, /unreachable or unwell/).length, warned + 1, 'one warn line per failed login, not per attempt');
  });

  it('times out a slow endpoint and retries it', async () => {
    webhook.behave((_request, response) => setTimeout(() => response.end('too late'), 1500).unref());
    const started = Date.now();
    assert.deepEqual(await refusal(official(s.url), creds), EXCEEDED);
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 3000, `3 × 300 ms timeouts + 2 × 50 ms pauses, not 3 × 1500 ms waits: took ${took} ms`);
    assert.equal(webhook.requests.length, 3);
  });

  it('retries an endpoint that is down or does not speak HTTP', async () => {
    for (const endpointUrl of [webhook.downUrl(), webhook.garbageUrl()]) {
      const t = await server({ plugins: [authHttp.with({ endpointUrl, ...FAST })] });
      assert.deepEqual(await refusal(official(t.url), creds), EXCEEDED);
      assert.equal(made(t, /unreachable or unwell/).length, 1);
      assertNotLogged(t, SECRETS);
    }
  });

  it('refuses answers that make no sense, with a warn line, without retrying', async () => {
    const warnings = () => made(s, /makes no sense/).length;
    const before = warnings();
    const garbage = [
      reply(200, '{"id": "half', 'application/json'),
      reply(200, '[1, 2]', 'application/json'),
      reply(200, { id: { nested: true } }),
      reply(200, 'x'.repeat(100_000)),
    ];
    for (const behaviour of garbage) {
      webhook.behave(behaviour);
      assert.equal(await refusal(official(s.url), creds), 'INVALID_AUTHENTICATION_DETAILS');
      assert.equal(webhook.requests.length, 1);
    }
    assert.equal(warnings(), before + garbage.length);
  });

  it('follows up to two redirects, keeping POST and the body', async () => {
    webhook.behave((request, response) => {
      const hop = Number(request.url.slice('/auth'.length) || '0');
      if (hop < 2) return void response.writeHead(307, { location: `/auth${hop + 1}` }).end();
      reply(200, `after ${hop} redirects`)(request, response);
    });
    await official(s.url).login(creds);
    assert.deepEqual(webhook.requests.map((r) => [r.method, r.url]), [['POST', '/auth'], ['POST', '/auth1'], ['POST', '/auth2']]);
    assert.deepEqual((webhook.requests[2]!.body as { authData: unknown }).authData, creds);
    sessionOf(s, 'after 2 redirects');

    webhook.behave((request, response) => void response.writeHead(307, { location: `${request.url}x` }).end());
    assert.equal(await refusal(official(s.url), creds), 'INVALID_AUTHENTICATION_DETAILS', 'the third redirect is an answer: not permitted');
    assert.equal(webhook.requests.length, 3);
  });

  it('refuses a field that cannot be a header, sending nothing and echoing nothing', async () => {
    webhook.behave(reply(200, 'should not be asked'));
    const reason = await refusal(official(s.url), { username: 'x', token: `${SECRETS[1]}\r\nx-injected: 1` });
    assert.deepEqual(reason, { error: 'the login field "token" cannot be sent as an HTTP header' });
    assert.equal(webhook.requests.length, 0);
  });

  it('never logs a password or token, whatever the webhook did', () => {
    assertNotLogged(s, SECRETS);
  });
});

describe('auth-http and the login timers', () => {
  let s: TestServer;
  before(async () => {
    s = await server({ connection: { unauthenticatedClientTimeout: 600 }, plugins: [authHttp.with({ endpointUrl: webhook.url(), ...FAST })] });
  });

  it('counts failed attempts: TOO_MANY_AUTH_ATTEMPTS after three', async () => {
    webhook.behave(reply(401));
    await assertTooManyAttempts(s, creds);
  });

  it('times out clients that never log in, not those refused once', async () => {
    webhook.behave(reply(401));
    await assertUnauthenticatedTimeout(s, creds);
  });

  it('does not time out a login waiting for the webhook: the webhook\'s own deadline ends it (a deliberate difference)', async () => {
    webhook.behave(() => undefined); // never answers: 3 × 300 ms, longer than the 600 ms allowed
    const c = official(s.url);
    const errors: string[] = [];
    c.on('error', (_error: unknown, event: string) => errors.push(event));
    // The reference cuts it with AUTHENTICATION_TIMEOUT, which the official client does not expect
    // while it is AUTHENTICATING ("Invalid state transition"); the client asked in time.
    assert.deepEqual(await refusal(c, creds), EXCEEDED);
    assert.deepEqual(errors, []);
    assertNotLogged(s, SECRETS);
  });
});

describe('auth-http among several strategies', () => {
  it('defaults to passing refusals and outages on to the next strategy', async () => {
    const s = await server({ plugins: [authHttp.with({ endpointUrl: webhook.url(), ...FAST }), authOpen] });
    webhook.behave(reply(401, 'no'));
    await official(s.url).login({ username: 'dave', password: SECRETS[0] });
    sessionOf(s, 'dave'); // auth-open's answer
    webhook.behave(reply(503));
    await official(s.url).login({ username: 'erin', password: SECRETS[0] });
    sessionOf(s, 'erin');
    assertNotLogged(s, SECRETS);
  });

  it('with reportInvalidParameters: true, a refusal ends the login', async () => {
    const s = await server({ plugins: [authHttp.with({ endpointUrl: webhook.url(), ...FAST, reportInvalidParameters: true }), authOpen] });
    webhook.behave(reply(401, 'no'));
    assert.deepEqual(await refusal(official(s.url), { username: 'dave' }), { error: 'no' });
  });
});

describe('auth-http options', () => {
  const refused = (config: DeepstreamConfig, pattern: RegExp) =>
    assert.rejects(startTestServer(config), (error) => isDeepstreamError(error, 'DS_PLUGIN_OPTIONS_INVALID') && pattern.test(error.message));

  it('refuses to start without a usable endpointUrl', async () => {
    await refused({ plugins: [authHttp] }, /option "endpointUrl" must be an http:\/\/ or https:\/\/ URL; it is missing/);
    await refused({ plugins: [authHttp.with({ endpointUrl: 'ftp://example.com' })] }, /option "endpointUrl" must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/example.com"/);
  });

  it('refuses contradictory or malformed settings', async () => {
    const endpointUrl = webhook.url();
    await refused({ plugins: [authHttp.with({ endpointUrl, retryStatusCodes: [200] })] }, /status 200 is in both/);
    await refused({ plugins: [authHttp.with({ endpointUrl, promoteToHeader: ['bad header'] })] }, /"bad header" cannot be an HTTP header name/);
    await refused({ plugins: [authHttp.with({ endpointUrl, retryAttempts: -1 })] }, /option "retryAttempts" must be an integer >= 0, got -1/);
    await refused({ plugins: [authHttp.with({ endpointUrl, permittedStatusCodes: [2000] })] }, /option "permittedStatusCodes\[0\]" must be an integer from 100 to 599, got 2000/);
  });
});
