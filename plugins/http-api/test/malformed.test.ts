/**
 * Every way a request to the HTTP API can be wrong, and the limits: exact statuses and text bodies
 * (HTTP_AND_CONFIG §1-2), CORS, and that an invalid batch runs nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pause, post, raw, send, startApiServer, textBody, type ApiServer } from './helpers.ts';

const QUERY = { topic: 'presence', action: 'query' };

describe('malformed HTTP API requests', () => {
  let server: ApiServer;
  let api: string;
  before(async () => {
    server = await startApiServer({ maxMessageSize: 2000, maxRequestsPerBatch: 3 });
    api = `${server.base}/api`;
  });
  after(() => server.stop());

  async function refused(body: unknown, status: number, message: string, url = api): Promise<void> {
    const reply = await post(url, body);
    assert.equal(reply.status, status, reply.text);
    assert.equal(reply.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(reply.text, textBody(message));
  }

  it('refuses bodies that are not JSON with the parser message', async () => {
    const reply = await post(api, '{"body": [');
    assert.equal(reply.status, 400);
    assert.match(reply.text, /^Failed to parse body of request: .+\r\n\r\n$/);
    await refused('', 400, 'Failed to parse body of request: Unexpected end of JSON input');
  });

  it('refuses JSON that is not an object', async () => {
    for (const body of ['[1]', '"body"', 'null', '42']) {
      await refused(body, 400, 'Invalid message: the request body must be a JSON object.');
    }
  });

  it('checks body, authData and token in the reference order, with its texts', async () => {
    await refused({}, 400, 'Invalid message: the "body" parameter must exist.');
    await refused({ token: 5 }, 400, 'Invalid message: the "body" parameter must exist.');
    await refused({ body: [] }, 400, 'Invalid message: the "body" parameter must be a non-empty array of Objects.');
    await refused({ body: { topic: 'event' } }, 400, 'Invalid message: the "body" parameter must be a non-empty array of Objects.');
    await refused({ body: [QUERY], authData: 'alice' }, 400, 'Invalid message: the "authData" parameter must be an object');
    await refused({ body: [QUERY], authData: ['alice'] }, 400, 'Invalid message: the "authData" parameter must be an object');
    await refused({ body: [QUERY], token: '' }, 400, 'Invalid message: the "token" parameter must be a non-empty string');
    await refused({ body: [QUERY], token: 7 }, 400, 'Invalid message: the "token" parameter must be a non-empty string');
  });

  it('refuses batches with more requests than maxRequestsPerBatch', async () => {
    await refused({ body: [QUERY, QUERY, QUERY, QUERY] }, 400, 'Invalid message: the "body" parameter may hold at most 3 requests, got 4.');
    assert.equal((await post(api, { body: [QUERY, QUERY, QUERY] })).status, 200);
  });

  it('refuses invalid JIF requests by index and reason, and runs none of the batch', async () => {
    const cases: Array<[unknown, string]> = [
      ['emit', 'the request must be an object'],
      [{ topic: 'mqtt', action: 'emit' }, '"topic" must be one of event, rpc, record, list, presence'],
      [{ action: 'emit' }, '"topic" must be one of event, rpc, record, list, presence'],
      [{ topic: 'event', action: 'subscribe', eventName: 'x' }, '"action" of topic event must be one of emit'],
      [{ topic: 'event', action: 'emit' }, '"eventName" is required'],
      [{ topic: 'event', action: 'emit', eventName: '' }, '"eventName" must be a non-empty string'],
      [{ topic: 'event', action: 'emit', eventName: 'x', extra: 1 }, 'unexpected property "extra" for event emit'],
      [{ topic: 'rpc', action: 'make', rpcName: 3 }, '"rpcName" must be a non-empty string'],
      [{ topic: 'record', action: 'read' }, '"recordName" is required'],
      [{ topic: 'record', action: 'write', recordName: 'r' }, '"data" is required'],
      [{ topic: 'record', action: 'write', recordName: 'r', data: 'text' }, '"data" must be an object or an array'],
      [{ topic: 'record', action: 'write', recordName: 'r', data: {}, version: 1.5 }, '"version" must be an integer of at least -1'],
      [{ topic: 'record', action: 'write', recordName: 'r', data: {}, version: -2 }, '"version" must be an integer of at least -1'],
      [{ topic: 'record', action: 'write', recordName: 'r', path: 7, data: 1 }, '"path" must be a string'],
      [{ topic: 'record', action: 'notify', recordNames: 'r' }, '"recordNames" must be an array of strings'],
      [{ topic: 'list', action: 'write', listName: 'l', data: ['a', 1] }, '"data" must be an array of strings'],
      [{ topic: 'list', action: 'write', listName: 'l', data: ['a'], path: 'x' }, 'unexpected property "path" for list write'],
      [{ topic: 'list', action: 'head', listName: 'l' }, '"action" of topic list must be one of read, delete, write'],
      [{ topic: 'presence', action: 'query', names: [1] }, '"names" must be an array of strings'],
    ];
    for (const [request, reason] of cases) {
      await refused({ body: [QUERY, request] }, 400, `Failed to parse JIF object at index 1. Reason: ${reason}.`);
    }

    const c = await server.client();
    const seen: unknown[] = [];
    c.event.subscribe('not-sent', (data: unknown) => seen.push(data));
    await pause(100);
    await refused({ body: [{ topic: 'event', action: 'emit', eventName: 'not-sent', data: 1 }, { topic: 'event' }] }, 400, 'Failed to parse JIF object at index 1. Reason: "action" of topic event must be one of emit.');
    await pause(100);
    assert.deepEqual(seen, []);
    c.close();
  });

  it('refuses POSTs that are not application/json with 415', async () => {
    const message = 'Invalid "Content-Type" header. Supported media types: "application/json"';
    for (const headers of [{}, { 'Content-Type': 'text/plain' }, { 'Content-Type': 'application/jsonp' }] as Array<Record<string, string>>) {
      const reply = await raw(server.port, { headers, body: JSON.stringify({ body: [QUERY] }) });
      assert.equal(reply.status, 415);
      assert.equal(reply.text, textBody(message));
    }
    const withCharset = await raw(server.port, { headers: { 'Content-Type': 'Application/JSON; charset=utf-8' }, body: JSON.stringify({ body: [QUERY] }) });
    assert.equal(withCharset.status, 200);
  });

  it('refuses bodies over maxMessageSize with 413, declared or streamed', async () => {
    const big = JSON.stringify({ body: [{ topic: 'event', action: 'emit', eventName: 'x', data: 'y'.repeat(3000) }] });
    const declared = await post(api, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.text, textBody('Request body too large: the limit is 2000 bytes.'));
    const streamed = await send(api, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal((await post(api, { body: [QUERY] })).status, 200, 'the server is fine afterwards');
  });

  it('answers unknown paths 404, GET 400 and other methods 405', async () => {
    await refused({ body: [QUERY] }, 404, 'Endpoint not found.', `${server.base}/nothing-here`);
    for (const path of ['/api', '/api/records/x', '/api/auth']) {
      const reply = await send(`${server.base}${path}`);
      assert.equal(reply.status, 400);
      assert.equal(reply.text, textBody('Reading records via HTTP GET is not yet implemented, please use a post request instead.'));
    }
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const reply = await raw(server.port, { method, headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.allow, 'GET, POST, OPTIONS');
      assert.equal(reply.text, textBody('Unsupported method. Supported methods: GET, POST, OPTIONS'));
    }
    assert.equal((await raw(server.port, { method: 'PUT', path: '/nothing-here' })).status, 405);
  });

  it('refuses token logins whose body is not an object', async () => {
    await refused([{ username: 'a' }], 400, 'Invalid message: the authentication data must be a JSON object.', `${api}/auth`);
    await refused('not json', 400, 'Failed to parse body of request: Unexpected token \'o\', "not json" is not valid JSON', `${api}/auth`);
  });

  it('allows every origin by default', async () => {
    const ok = await post(api, { body: [QUERY] }, { Origin: 'https://anywhere.example' });
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const failed = await post(api, { body: [] });
    assert.equal(failed.headers.get('access-control-allow-origin'), '*');
  });

  it('answers preflight requests by the reference rules', async () => {
    const preflight = (headers: Record<string, string>) => raw(server.port, { method: 'OPTIONS', headers: { Origin: 'https://app.example', ...headers } });
    let reply = await preflight({ 'Access-Control-Request-Headers': 'Content-Type' });
    assert.equal(reply.status, 400);
    assert.equal(reply.text, textBody('Missing header "Access-Control-Request-Method".'));
    reply = await preflight({ 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'Content-Type' });
    assert.equal(reply.status, 403);
    assert.equal(reply.text, textBody('Method PUT is forbidden. Supported methods: GET, POST, OPTIONS'));
    reply = await preflight({ 'Access-Control-Request-Method': 'POST' });
    assert.equal(reply.status, 400);
    assert.equal(reply.text, textBody('Missing header "Access-Control-Request-Headers".'));
    reply = await preflight({ 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, X-Evil' });
    assert.equal(reply.status, 403);
    assert.equal(reply.text, textBody('Header X-Evil is forbidden. Supported headers: X-Requested-With, X-HTTP-Method-Override, Content-Type, Accept'));
    reply = await preflight({ 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,accept' });
    assert.equal(reply.status, 204);
    assert.equal(reply.text, '');
    assert.equal(reply.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
    assert.equal(reply.headers['access-control-allow-headers'], 'X-Requested-With, X-HTTP-Method-Override, Content-Type, Accept');
    assert.equal(reply.headers['access-control-allow-origin'], '*');
  });
});

describe('HTTP API options', () => {
  it('restricts origins and hosts when allowAllOrigins is false', async () => {
    const server = await startApiServer({ allowAllOrigins: false, origins: ['https://good.example'], hostUrl: 'api.example:6020' });
    try {
      const body = JSON.stringify({ body: [QUERY] });
      const request = (headers: Record<string, string>) => raw(server.port, { headers: { 'Content-Type': 'application/json', Host: 'api.example:6020', ...headers }, body });
      let reply = await request({});
      assert.equal(reply.status, 403);
      assert.equal(reply.text, textBody('CORS is configured for this. All requests must set a valid "Origin" header.'));
      reply = await request({ Origin: 'https://evil.example' });
      assert.equal(reply.status, 403);
      assert.equal(reply.text, textBody('Origin "https://evil.example" is forbidden.'));
      reply = await request({ Origin: 'https://good.example', Host: 'elsewhere.example' });
      assert.equal(reply.status, 403);
      assert.equal(reply.text, textBody('Forbidden Host.'));
      reply = await request({ Referer: 'https://good.example' });
      assert.equal(reply.status, 200, 'Referer stands in for a missing Origin');
      reply = await request({ Origin: 'https://good.example' });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['access-control-allow-origin'], 'https://good.example');
      assert.equal(reply.headers['access-control-allow-credentials'], 'true');
      assert.equal(reply.headers.vary, 'Origin');
    } finally {
      await server.stop();
    }
  });

  it('refuses authData when allowAuthData is false, and serves custom paths', async () => {
    const server = await startApiServer({ allowAuthData: false, postPath: '/v1/messages', getPath: '/v1/read', authPath: '/v1/login' });
    try {
      let reply = await post(`${server.base}/v1/messages`, { authData: { username: 'a' }, body: [QUERY] });
      assert.equal(reply.status, 400);
      assert.equal(reply.text, textBody('Authentication using authData is disabled. Try using a token instead.'));
      const { token } = (await post(`${server.base}/v1/login`, { username: 'a' })).json as { token: string };
      reply = await post(`${server.base}/v1/messages`, { token, body: [QUERY] });
      assert.equal(reply.json.result, 'SUCCESS');
      assert.equal((await send(`${server.base}/v1/read`)).status, 400);
      assert.equal((await post(`${server.base}/api`, { body: [QUERY] })).status, 404);
    } finally {
      await server.stop();
    }
  });

  it('has no token endpoint when enableAuthEndpoint is false', async () => {
    const server = await startApiServer({ enableAuthEndpoint: false });
    try {
      const reply = await post(`${server.base}/api/auth`, { username: 'a' });
      assert.equal(reply.status, 400);
      assert.equal(reply.text, textBody('Invalid message: the "body" parameter must exist.'));
    } finally {
      await server.stop();
    }
  });

  it('refuses options that cannot work at start, naming them', async () => {
    await assert.rejects(startApiServer({ requestTimeout: 0 }), /DS_PLUGIN_OPTIONS_INVALID: plugin "@deepstream-ts\/plugin-http-api": option "requestTimeout" must be a positive integer, got 0/);
    await assert.rejects(startApiServer({ postPath: 'api' }), /option "postPath" must be a path starting with "\/", got "api"/);
  });
});
