import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { isDeepstreamError, type DeepstreamConfig } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import authFile from '@deepstream-ts/plugin-auth-file';
import authJwt from '@deepstream-ts/plugin-auth-jwt';
import { assertNotLogged, assertTooManyAttempts, assertUnauthenticatedTimeout, official, refusal, server, sessionOf } from '../../../test/helpers/auth.ts';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const now = () => Math.floor(Date.now() / 1000);
const tokens: string[] = []; // every token made here; none may reach a log line

async function sign(payload: JWTPayload, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string } = { alg: 'HS256' }): Promise<string> {
  const jwt = new SignJWT({ exp: now() + 60, ...payload }).setProtectedHeader(header);
  const token = await jwt.sign(key);
  tokens.push(token);
  return token;
}
const hs = (payload: JWTPayload, secret = SECRET) => sign(payload, new TextEncoder().encode(secret));
/** An unsecured token (`alg: none`), hand-made: jose will not sign one. */
function unsecured(payload: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: now() + 60, ...payload })}.`;
  tokens.push(token);
  return token;
}
const error = (text: string) => ({ error: text });

describe('HS256 with a secret', () => {
  let s: TestServer;
  before(async () => {
    s = await server({
      plugins: [authJwt.with({ secret: SECRET, issuer: 'https://issuer.test', audience: 'deepstream', clientDataClaims: ['name'] })],
    });
  });
  const claims = { sub: 'ada', iss: 'https://issuer.test', aud: 'deepstream', name: 'Ada', role: 'admin' };

  it('logs in as the sub claim; serverData is the payload, clientData the chosen claims', async () => {
    const c = official(s.url);
    assert.deepEqual(await c.login({ token: await hs(claims) }), { name: 'Ada' });
    const session = sessionOf(s, 'ada');
    assert.equal((session.serverData as Record<string, unknown>).role, 'admin');
    assert.equal((session.serverData as Record<string, unknown>).iss, 'https://issuer.test');
  });

  it('refuses expired tokens and tokens not valid yet', async () => {
    assert.deepEqual(await refusal(official(s.url), { token: await hs({ ...claims, exp: now() - 60 }) }), error('the token has expired'));
    assert.deepEqual(await refusal(official(s.url), { token: await hs({ ...claims, nbf: now() + 60 }) }), error('the token is not valid yet'));
  });

  it('tolerates a few seconds of clock skew', async () => {
    await official(s.url).login({ token: await hs({ ...claims, exp: now() - 2, nbf: now() + 2 }) });
  });

  it('refuses a wrong issuer or audience, and a token without exp', async () => {
    assert.deepEqual(await refusal(official(s.url), { token: await hs({ ...claims, iss: 'https://evil.test' }) }), error('the token\'s "iss" claim is not accepted'));
    assert.deepEqual(await refusal(official(s.url), { token: await hs({ ...claims, aud: 'someone-else' }) }), error('the token\'s "aud" claim is not accepted'));
    const noExp = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    tokens.push(noExp);
    assert.deepEqual(await refusal(official(s.url), { token: noExp }), error('the token has no "exp" claim'));
  });

  it('refuses a wrong signature, alg none and a tampered payload', async () => {
    assert.deepEqual(await refusal(official(s.url), { token: await hs(claims, `${SECRET}-but-another-one`) }), error('the token signature is not valid'));
    assert.deepEqual(await refusal(official(s.url), { token: unsecured(claims) }), error('the token algorithm is not accepted'));
    const [header, , signature] = (await hs(claims)).split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'root', exp: now() + 60 })).toString('base64url')}.${signature}`;
    tokens.push(forged);
    assert.deepEqual(await refusal(official(s.url), { token: forged }), error('the token signature is not valid'));
  });

  it('refuses garbage, non-string tokens and tokens without a user id', async () => {
    assert.deepEqual(await refusal(official(s.url), { token: 'not.a.jwt' }), error('the token is malformed'));
    assert.deepEqual(await refusal(official(s.url), { token: 42 }), error('the token must be a string'));
    const { sub: _sub, ...anonymous } = claims;
    assert.deepEqual(await refusal(official(s.url), { token: await hs(anonymous) }), error('the token has no "sub" claim naming the user'));
  });

  it('as the only strategy, login data without a token is refused without data', async () => {
    assert.equal(await refusal(official(s.url), { username: 'ada', password: 'x' }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it('counts failed attempts: TOO_MANY_AUTH_ATTEMPTS after three', async () => {
    await assertTooManyAttempts(s, { token: await hs({ ...claims, exp: now() - 60 }) });
  });

  it('never logs a token', () => {
    assertNotLogged(s, tokens);
  });
});

describe('the unauthenticated timeout with auth-jwt', () => {
  it('times out clients that never log in, not those refused once', async () => {
    const s = await server({ connection: { unauthenticatedClientTimeout: 600 }, plugins: [authJwt.with({ secret: SECRET })] });
    await assertUnauthenticatedTimeout(s, { token: await hs({ sub: 'x', exp: now() - 60 }) });
  });
});

describe('a custom id claim and claim lists', () => {
  it('takes the id from another claim and only the listed claims as serverData', async () => {
    const s = await server({ plugins: [authJwt.with({ secret: SECRET, idClaim: 'email', serverDataClaims: ['role'], tokenField: 'jwt' })] });
    await official(s.url).login({ jwt: await hs({ sub: 'u1', email: 'ada@example.com', role: 'editor', secretish: 'x' }) });
    assert.deepEqual(sessionOf(s, 'ada@example.com').serverData, { role: 'editor' });
    assert.equal(sessionOf(s, 'ada@example.com').clientData, undefined);
  });
});

describe('RS256 and ES256 with a static public key', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-jwt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies RS256 with a PEM given as text', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const s = await server({ plugins: [authJwt.with({ publicKey: await exportSPKI(publicKey) })] });
    await official(s.url).login({ token: await sign({ sub: 'rsa-user' }, privateKey, { alg: 'RS256' }) });
    sessionOf(s, 'rsa-user');
    // Algorithm confusion: an HS256 token "signed" with the public key text must not pass.
    const confused = await hs({ sub: 'mallory' }, await exportSPKI(publicKey));
    assert.deepEqual(await refusal(official(s.url), { token: confused }), error('the token algorithm is not accepted'));
    assert.deepEqual(await refusal(official(s.url), { token: unsecured({ sub: 'mallory' }) }), error('the token algorithm is not accepted'));
  });

  it('verifies ES256 with a PEM file, relative to the config directory', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    writeFileSync(join(dir, 'es256.pem'), await exportSPKI(publicKey));
    const s = await startTestServer({ plugins: [authJwt.with({ publicKey: 'es256.pem' })] }, { baseDir: dir });
    try {
      await official(s.url).login({ token: await sign({ sub: 'ec-user' }, privateKey, { alg: 'ES256' }) });
      const other = await generateKeyPair('ES256');
      assert.deepEqual(await refusal(official(s.url), { token: await sign({ sub: 'ec-user' }, other.privateKey, { alg: 'ES256' }) }), error('the token signature is not valid'));
    } finally {
      await s.stop();
    }
  });
});

describe('keys from a JWKS URL', () => {
  let jwks: Server;
  let served: object = { keys: [] };
  let fetches = 0;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let jwksUrl: string;
  before(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    served = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }, { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }] };
    jwks = createServer((_request, response) => {
      fetches++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('verifies RS256 and ES256 tokens by kid, fetching the set once', async () => {
    const s = await server({ plugins: [authJwt.with({ jwksUrl })] });
    await official(s.url).login({ token: await sign({ sub: 'via-rsa' }, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }) });
    await official(s.url).login({ token: await sign({ sub: 'via-ec' }, ec.privateKey, { alg: 'ES256', kid: 'ec-1' }) });
    assert.equal(fetches, 1);
  });

  it('refuses a token signed by a key the set does not have', async () => {
    const s = await server({ plugins: [authJwt.with({ jwksUrl })] });
    const stranger = await generateKeyPair('RS256');
    assert.deepEqual(
      await refusal(official(s.url), { token: await sign({ sub: 'x' }, stranger.privateKey, { alg: 'RS256', kid: 'unknown' }) }),
      error('the token is signed with an unknown key'),
    );
    assert.deepEqual(
      await refusal(official(s.url), { token: await sign({ sub: 'x' }, stranger.privateKey, { alg: 'RS256', kid: 'rsa-1' }) }),
      error('the token signature is not valid'),
    );
  });

  it('refuses, with one warn line, when the set cannot be fetched', async () => {
    const s = await server({ plugins: [authJwt.with({ jwksUrl: 'http://127.0.0.1:1/jwks.json', jwksTimeout: 500 })] });
    assert.deepEqual(
      await refusal(official(s.url), { token: await sign({ sub: 'x' }, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }) }),
      error('the token cannot be verified now'),
    );
    assert.equal(s.warnings().filter((line) => /key set is unavailable/.test(line.msg)).length, 1);
    assertNotLogged(s, tokens);
  });
});

describe('strategies in sequence: jwt, then file, then open', () => {
  let s: TestServer;
  before(async () => {
    s = await server({
      plugins: [authJwt.with({ secret: SECRET }), authFile.with({ users: { fay: { password: 'fays-password' } }, hash: false }), authOpen],
    });
  });

  it('sends each login to the strategy it is for', async () => {
    await official(s.url).login({ token: await hs({ sub: 'token-user' }) });
    sessionOf(s, 'token-user');
    assert.equal(await official(s.url).login({ username: 'fay', password: 'fays-password' }), null);
    sessionOf(s, 'fay');
    await official(s.url).login({ username: 'guest' });
    sessionOf(s, 'guest');
  });

  it('with several strategies a bad token falls through (reportInvalidParameters defaults to false)', async () => {
    await official(s.url).login({ token: await hs({ sub: 'x', exp: now() - 60 }), username: 'fell-through' });
    sessionOf(s, 'fell-through'); // auth-open's answer: put open last only where that is wanted
  });

  it('never logs a token or a password', () => {
    assertNotLogged(s, [...tokens, 'fays-password']);
  });
});

describe('auth-jwt options', () => {
  const refused = (config: DeepstreamConfig, pattern: RegExp) =>
    assert.rejects(startTestServer(config), (e) => isDeepstreamError(e, 'DS_PLUGIN_OPTIONS_INVALID') && pattern.test(e.message));

  it('needs exactly one key source', async () => {
    await refused({ plugins: [authJwt] }, /exactly one of the options secret, publicKey or jwksUrl; 0 given/);
    await refused({ plugins: [authJwt.with({ secret: SECRET, jwksUrl: 'https://x.test/jwks' })] }, /2 given/);
  });

  it('refuses short secrets, none, and algorithms that do not fit the key', async () => {
    await refused({ plugins: [authJwt.with({ secret: 'short' })] }, /option "secret" must be a string of at least 32 bytes$/);
    await refused({ plugins: [authJwt.with({ secret: SECRET, algorithms: ['none'] })] }, /option "algorithms" must be a non-empty list from HS256/);
    await refused({ plugins: [authJwt.with({ secret: SECRET, algorithms: ['RS256'] })] }, /option "algorithms" must be/);
    await refused({ plugins: [authJwt.with({ jwksUrl: 'https://x.test/jwks', algorithms: ['HS256'] })] }, /option "algorithms" must be a non-empty list from RS256/);
  });

  it('refuses a plain-http JWKS URL that is not on this machine, and unreadable keys', async () => {
    await refused({ plugins: [authJwt.with({ jwksUrl: 'http://auth.example.com/jwks' })] }, /option "jwksUrl" must use https/);
    await refused({ plugins: [authJwt.with({ publicKey: '/nonexistent/key.pem' })] }, /option "publicKey": cannot read \/nonexistent\/key\.pem/);
    await refused({ plugins: [authJwt.with({ publicKey: '-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n' })] }, /option "publicKey" is not a PEM public key/);
  });
});
