/** Plugin HTTP routes: the methods a route lists reach it, any other is 405 naming them (HTTP_AND_CONFIG §1). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { definePlugin, type HttpHandler } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';

const EVERY_METHOD = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const routes = definePlugin({
  name: 'routes-fixture',
  version: '1.0.0',
  kernel: '*',
  setup(ctx) {
    const echo: HttpHandler = (request, response) => void response.end(request.method);
    ctx.http.add('/everything', echo, { methods: EVERY_METHOD });
    ctx.http.add('/reads', echo, { methods: ['get'] });
    ctx.http.add('/default', echo);
  },
});

describe('HTTP routes added by plugins', () => {
  let server: TestServer;
  const at = (path: string, method: string) => fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  before(async () => {
    server = await startTestServer({ plugins: [routes] });
  });
  after(() => server.stop());

  it('serve every method they list', async () => {
    for (const method of EVERY_METHOD) {
      const reply = await at('/everything/x', method);
      assert.equal(reply.status, 200, method);
      assert.equal(await reply.text(), method);
    }
    assert.equal((await at('/reads', 'GET')).status, 200);
  });

  it('answer 405 with the methods they serve for any other', async () => {
    const head = await at('/everything', 'HEAD');
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('allow'), EVERY_METHOD.join(', '));
    const post = await at('/reads', 'POST');
    assert.equal(post.status, 405);
    assert.equal(await post.text(), 'Unsupported method. Supported methods: GET\r\n\r\n');
    assert.equal((await at('/default', 'DELETE')).headers.get('allow'), 'GET, POST, OPTIONS');
    assert.equal((await at('/default', 'POST')).status, 200);
  });

  it('leave unrouted paths as before: 404, or 405 outside GET, POST and OPTIONS', async () => {
    assert.equal((await at('/nowhere', 'GET')).status, 404);
    assert.equal((await at('/nowhere', 'PUT')).status, 405);
  });
});
