import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import authOpen from '@deepstream-ts/plugin-auth-open';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import hello from '../src/index.js';

describe('deepstream-plugin-hello', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ plugins: [authOpen, hello.with({ greeting: 'hi' })] });
  });
  after(() => server.stop());

  it('greets on every method and counts logins', async () => {
    const client = await RawClient.login(server.url, { username: 'ada' });
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const response = await fetch(`http://127.0.0.1:${server.port}/hello`, { method });
      assert.equal(response.status, 200, method);
      assert.deepEqual(await response.json(), { greeting: 'hi', method, logins: 1 });
    }
    client.close();
  });
});
