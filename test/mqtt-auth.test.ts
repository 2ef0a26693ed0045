/**
 * MQTT logins through the real authentication plugins: CONNECT's user name and password are the
 * `{ username, password }` a deepstream client would send, so auth-file works as it is and
 * auth-jwt takes the token from the password with `tokenField: 'password'`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authFile from '@deepstream-ts/plugin-auth-file';
import authJwt from '@deepstream-ts/plugin-auth-jwt';
import events from '@deepstream-ts/plugin-events';
import transportMqtt from '@deepstream-ts/transport-mqtt';
import mqtt from 'mqtt';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
/** An HS256 JWT, signed by hand (node:crypto) so that this file needs no JWT library. */
function hs256(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}
const mqttUrl = (s: TestServer) => `mqtt://127.0.0.1:${s.logs.find((l) => l.msg === 'MQTT endpoint listening')!.port as number}`;

/** The CONNACK code: 0 when accepted. */
async function connackCode(url: string, username: string, password: string, protocolVersion: 4 | 5 = 4): Promise<number> {
  try {
    const c = await mqtt.connectAsync(url, { username, password, protocolVersion, reconnectPeriod: 0 });
    await c.endAsync(true);
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe('MQTT logins through auth-file and auth-jwt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-auth-'));
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a users file and JWTs as passwords, in one chain', async () => {
    const users = join(dir, 'users.json');
    // "correct horse", hashed as plugins/auth-file/README.md shows.
    writeFileSync(users, JSON.stringify({ sensor: { password: 'ItugO+EKz1X4/YPoQIYMSTgwgMDzGYCZL/ij0J3wNSY=VV0jycFoZLY7bASDzV1EUg==' } }));
    const s = await startTestServer({
      plugins: [authJwt.with({ secret: SECRET, tokenField: 'password' }), authFile.with({ path: users }), events, transportMqtt.with({ port: 0 })],
    });
    servers.push(s);
    const url = mqttUrl(s);
    const token = hs256({ sub: 'gateway-1', exp: Math.floor(Date.now() / 1000) + 60 });

    assert.equal(await connackCode(url, 'sensor', 'correct horse'), 0, 'auth-file: right password');
    assert.equal(await connackCode(url, 'sensor', 'wrong'), 4, 'auth-file: wrong password');
    assert.equal(await connackCode(url, 'anyone', token, 5), 0, 'auth-jwt: a valid token as the password');
    assert.equal(await connackCode(url, 'anyone', `${token}x`, 5), 0x86, 'auth-jwt: a forged token');
  });
});
