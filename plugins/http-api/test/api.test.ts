/**
 * The HTTP API against official WebSocket clients: batches sent with plain fetch, their effects
 * checked where clients see them, results checked against the reference's shapes and texts.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, type AuthenticationResult } from '@deepstream-ts/core';
import { ControllableStorage, controllableStorage } from '../../../test/fixtures/storage.ts';
import { pause, post, startApiServer, testPermissions, unique, type ApiServer } from './helpers.ts';

describe('HTTP API batches', () => {
  let server: ApiServer;
  let api: string;
  before(async () => {
    server = await startApiServer({}, { before: [testPermissions] });
    api = `${server.base}/api`;
  });
  afterEach(() => server.closeClients());
  after(() => server.stop());

  it('delivers an event emit to official clients, payload intact, and answers SUCCESS', async () => {
    const c = await server.client();
    const name = unique('news');
    const seen: unknown[] = [];
    c.event.subscribe(name, (data: unknown) => seen.push(data));
    await pause(100);
    const reply = await post(api, {
      body: [
        { topic: 'event', action: 'emit', eventName: name, data: { headline: 'hi', n: [1, 2] } },
        { topic: 'event', action: 'emit', eventName: name, data: 'text' },
        { topic: 'event', action: 'emit', eventName: name },
      ],
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.ok(reply.text.endsWith('}\r\n\r\n'));
    assert.deepEqual(reply.json, { result: 'SUCCESS', body: [{ success: true }, { success: true }, { success: true }] });
    await pause(100);
    assert.equal(seen.length, 3);
    assert.deepEqual(seen.slice(0, 2), [{ headline: 'hi', n: [1, 2] }, 'text']);
  });

  it('writes records that subscribers see with the right version, by whole record and by path', async () => {
    const c = await server.client();
    const name = unique('doc');
    const record = c.record.getRecord(name);
    await record.whenReady();
    const updates: unknown[] = [];
    record.subscribe((data: unknown) => updates.push(data));

    let reply = await post(api, { body: [{ topic: 'record', action: 'write', recordName: name, data: { title: 'one', tags: ['a'] } }] });
    assert.deepEqual(reply.json, { result: 'SUCCESS', body: [{ success: true }] });
    await pause(100);
    assert.deepEqual(record.get(), { title: 'one', tags: ['a'] });
    assert.equal(record.version, 1);

    reply = await post(api, { body: [{ topic: 'record', action: 'write', recordName: name, path: 'tags[1]', data: 'b', version: 2 }] });
    assert.deepEqual(reply.json.body, [{ success: true }]);
    await pause(100);
    assert.deepEqual(record.get(), { title: 'one', tags: ['a', 'b'] });
    assert.equal(record.version, 2);
    assert.deepEqual(updates, [{ title: 'one', tags: ['a'] }, { title: 'one', tags: ['a', 'b'] }]);

    reply = await post(api, {
      body: [
        { topic: 'record', action: 'read', recordName: name },
        { topic: 'record', action: 'head', recordName: name },
        { topic: 'record', action: 'head', recordName: unique('missing') },
      ],
    });
    assert.deepEqual(reply.json, {
      result: 'SUCCESS',
      body: [
        { success: true, version: 2, data: { title: 'one', tags: ['a', 'b'] } },
        { success: true, version: 2 },
        { success: true, version: -1 },
      ],
    });
  });

  it('refuses stale and too high versions with the current version and data', async () => {
    const name = unique('versioned');
    await post(api, { body: [{ topic: 'record', action: 'write', recordName: name, data: { v: 1 } }] });
    await post(api, { body: [{ topic: 'record', action: 'write', recordName: name, data: { v: 2 } }] });
    const reply = await post(api, {
      body: [
        { topic: 'record', action: 'write', recordName: name, data: { v: 'stale' }, version: 2 },
        { topic: 'record', action: 'write', recordName: name, data: { v: 'future' }, version: 30 },
      ],
    });
    assert.equal(reply.json.result, 'FAILURE');
    assert.deepEqual(reply.json.body[0], {
      errorTopic: 'record',
      errorEvent: 102,
      success: false,
      error: `Record update failed. Version 2 exists for record "${name}".`,
      currentVersion: 2,
      currentData: { v: 2 },
    });
    assert.equal(reply.json.body[1].errorEvent, 108);
    assert.equal(reply.json.body[1].error, `Record update failed. Version 30 is not valid for record "${name}".`);
    assert.equal(typeof reply.json.body[1].currentVersion, 'number');
  });

  it('reads a missing record as not found and deletes records, telling subscribers', async () => {
    const c = await server.client();
    const name = unique('gone');
    await post(api, { body: [{ topic: 'record', action: 'write', recordName: name, data: { here: true } }] });
    const record = c.record.getRecord(name);
    await record.whenReady();
    let deleted = false;
    record.on('delete', () => (deleted = true));
    const reply = await post(api, { body: [{ topic: 'record', action: 'delete', recordName: name }] });
    assert.deepEqual(reply.json, { result: 'SUCCESS', body: [{ success: true }] });
    await pause(100);
    assert.equal(deleted, true);
    const read = await post(api, { body: [{ topic: 'record', action: 'read', recordName: name }] });
    assert.deepEqual(read.json, {
      result: 'FAILURE',
      body: [{ errorTopic: 'record', errorEvent: 107, success: false, error: `Record read failed. Record "${name}" could not be found.` }],
    });
  });

  it('writes, reads and deletes lists that official clients see as lists', async () => {
    const c = await server.client();
    const name = unique('todo');
    const reply = await post(api, {
      body: [{ topic: 'list', action: 'write', listName: name, data: ['milk', 'eggs'] }],
    });
    assert.deepEqual(reply.json.body, [{ success: true }]);
    const list = c.record.getList(name);
    await list.whenReady();
    assert.deepEqual(list.getEntries(), ['milk', 'eggs']);
    const read = await post(api, { body: [{ topic: 'list', action: 'read', listName: name }] });
    assert.deepEqual(read.json.body, [{ success: true, version: 1, data: ['milk', 'eggs'] }]);
    const removed = await post(api, { body: [{ topic: 'list', action: 'delete', listName: name }] });
    assert.deepEqual(removed.json.body, [{ success: true }]);
  });

  it('answers presence queries without counting the HTTP user as online', async () => {
    // Alice logs in after the watcher subscribes, and her join is awaited: in a cluster a login
    // on another node reaches the watcher's node a moment later, and must not count as the
    // HTTP request's.
    const watcher = await server.client('watcher');
    const announced: string[] = [];
    watcher.presence.subscribe((user: string, online: boolean) => announced.push(`${user}:${online}`));
    await pause(100);
    await server.client('alice');
    for (let waited = 0; !announced.includes('alice:true'); waited += 20) {
      assert.ok(waited < 3000, 'the watcher hears alice log in');
      await pause(20);
    }
    announced.length = 0;
    const reply = await post(api, {
      authData: { username: 'ghost' },
      body: [
        { topic: 'presence', action: 'query' },
        { topic: 'presence', action: 'query', names: ['alice', 'ghost', 'nobody'] },
      ],
    });
    assert.equal(reply.json.result, 'SUCCESS');
    assert.deepEqual([...reply.json.body[0].users].sort(), ['alice', 'watcher']);
    assert.deepEqual(reply.json.body[1], { success: true, users: { alice: true, ghost: false, nobody: false } });
    await pause(100);
    assert.deepEqual(announced, [], 'an HTTP request is never a presence login');
  });

  it('makes RPCs: response, provider error, rejection, no provider, response timeout', async () => {
    const provider = await server.client('provider');
    const add = unique('add');
    const fails = unique('fails');
    const rejects = unique('rejects');
    const silent = unique('silent');
    provider.rpc.provide(add, (data: any, response: any) => response.send(data.a + data.b));
    provider.rpc.provide(fails, (_data: unknown, response: any) => response.error('it broke'));
    provider.rpc.provide(rejects, (_data: unknown, response: any) => response.reject());
    provider.rpc.provide(silent, (_data: unknown, response: any) => response.accept());
    await pause(100);
    const reply = await post(api, {
      body: [
        { topic: 'rpc', action: 'make', rpcName: add, data: { a: 2, b: 3 } },
        { topic: 'rpc', action: 'make', rpcName: fails },
        { topic: 'rpc', action: 'make', rpcName: rejects },
        { topic: 'rpc', action: 'make', rpcName: 'nobody-provides-this' },
        { topic: 'rpc', action: 'make', rpcName: silent },
      ],
    });
    assert.deepEqual(reply.json, {
      result: 'PARTIAL_SUCCESS',
      body: [
        { success: true, data: 5 },
        { errorTopic: 'rpc', success: false, error: 'it broke' },
        { errorTopic: 'rpc', errorEvent: 100, success: false, error: `No provider was available to handle the RPC "${rejects}".` },
        { errorTopic: 'rpc', errorEvent: 100, success: false, error: 'No provider was available to handle the RPC "nobody-provides-this".' },
        { errorTopic: 'rpc', errorEvent: 104, success: false, error: 'The RPC response timeout was exceeded by the provider.' },
      ],
    });
  });

  it('applies the same permission checks as for WebSocket clients, with the reference texts', async () => {
    const c = await server.client();
    const seen: unknown[] = [];
    c.event.subscribe('secret/plans', (data: unknown) => seen.push(data));
    const reply = await post(api, {
      body: [
        { topic: 'event', action: 'emit', eventName: 'secret/plans', data: 1 },
        { topic: 'record', action: 'write', recordName: 'locked/a', data: { x: 1 } },
        { topic: 'record', action: 'read', recordName: 'hidden/a' },
        { topic: 'rpc', action: 'make', rpcName: 'forbidden' },
        { topic: 'record', action: 'notify', recordNames: ['admin/settings'] },
      ],
    });
    assert.deepEqual(reply.json, {
      result: 'FAILURE',
      body: [
        { success: false, error: "Message denied. Action 'emit' is not permitted.", errorEvent: 'MESSAGE_DENIED', errorAction: 'emit', errorTopic: 'event' },
        { errorTopic: 'record', errorEvent: 115, success: false, action: 16, error: 'Message denied. Action "CREATEANDUPDATE" is not permitted.' },
        { errorTopic: 'record', errorEvent: 115, success: false, action: 3, error: 'Message denied. Action "READ" is not permitted.' },
        { errorTopic: 'rpc', errorEvent: 107, success: false, action: 2, error: 'Message denied. Action "REQUEST" is not permitted.' },
        { errorTopic: 'record', errorEvent: 115, success: false, action: 2, error: 'Message denied. Action "NOTIFY" is not permitted.' },
      ],
    });
    await pause(100);
    assert.deepEqual(seen, []);
  });

  it('logs in with authData in the batch: refused credentials get 401, identities reach permission rules', async () => {
    const refused = await post(api, { authData: { username: 'mallory' }, body: [{ topic: 'presence', action: 'query' }] });
    assert.equal(refused.status, 401);
    assert.equal(refused.text, 'Unsuccessful authentication attempt.\r\n\r\n');
    const admin = await post(api, { authData: { username: 'carol' }, body: [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }] });
    assert.deepEqual(admin.json, { result: 'SUCCESS', body: [{ success: true }] });
  });

  it('issues tokens at /api/auth that stand for the identity, in the body or in the path', async () => {
    const login = await post(`${server.base}/api/auth`, { username: 'carol' });
    assert.equal(login.status, 200);
    assert.deepEqual(Object.keys(login.json).sort(), ['clientData', 'token']);
    assert.deepEqual(login.json.clientData, { colour: 'red' });
    const { token } = login.json as { token: string };
    const notify = [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }];
    assert.deepEqual((await post(api, { token, body: notify })).json.body, [{ success: true }]);
    assert.deepEqual((await post(`${api}/${token}`, { body: notify })).json.body, [{ success: true }]);
    // An unknown token goes through the strategies as {token}: open auth lets it in, but not as carol.
    const stranger = await post(api, { token: 'not-a-token', body: notify });
    assert.equal(stranger.json.body[0].error, 'Message denied. Action "NOTIFY" is not permitted.');

    const refused = await post(`${server.base}/api/auth`, { username: 'mallory' });
    assert.equal(refused.status, 401);
    assert.equal(refused.text, 'Invalid authentication data.\r\n\r\n');
  });

  it('runs a batch in one session that leaves nothing behind', async () => {
    const before = server.kernel.sessions.size;
    await post(api, {
      body: [
        { topic: 'rpc', action: 'make', rpcName: 'nobody' },
        { topic: 'record', action: 'read', recordName: unique('x') },
        { topic: 'event', action: 'emit', eventName: 'x' },
      ],
    });
    assert.equal(server.kernel.sessions.size, before);
    assert.equal(server.kernel.service('rpc')?.stats.pendingCalls, 0);
  });
});

describe('HTTP API with other setups', () => {
  it('expires tokens after tokenExpiry', async () => {
    const server = await startApiServer({ tokenExpiry: 150 }, { before: [testPermissions] });
    try {
      const { token } = (await post(`${server.base}/api/auth`, { username: 'carol' })).json as { token: string };
      const notify = { token, body: [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }] };
      assert.equal((await post(`${server.base}/api`, notify)).json.result, 'SUCCESS');
      await pause(250);
      // Refused outright, not handed to the strategies (where open auth would let anyone in).
      const expired = await post(`${server.base}/api`, notify);
      assert.equal(expired.status, 401);
      assert.equal(expired.text, 'Unsuccessful authentication attempt.\r\n\r\n');
    } finally {
      await server.stop();
    }
  });

  it('refuses forged and altered tokens outright, and revokes tokens at /api/auth/logout', async () => {
    const server = await startApiServer({}, { before: [testPermissions] });
    try {
      const login = await post(`${server.base}/api/auth`, { username: 'carol' });
      const { token } = login.json as { token: string };
      const notify = (t: string) => post(`${server.base}/api`, { token: t, body: [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }] });
      assert.equal((await notify(token)).json.result, 'SUCCESS');
      const [prefix, kid, sealed] = token.split('.') as [string, string, string];
      const flipped = `${sealed.slice(0, 10)}${sealed[10] === 'A' ? 'B' : 'A'}${sealed.slice(11)}`;
      for (const forged of [`${prefix}.${kid}.${flipped}`, `${prefix}.${kid}.${sealed.slice(0, -4)}`, `${prefix}.AAAAAAAAAAAA.${sealed}`, `${prefix}.${kid}`]) {
        assert.equal((await notify(forged)).status, 401, forged);
      }
      // The token does not show what it stands for: serverData stays on the server.
      assert.ok(!Buffer.from(sealed, 'base64url').toString('latin1').includes('admin'));

      const logout = await post(`${server.base}/api/auth/logout`, { token });
      assert.deepEqual([logout.status, logout.json], [200, {}]);
      assert.equal((await notify(token)).status, 401, 'revoked');
      assert.equal((await post(`${server.base}/api/auth/logout`, { token })).status, 200, 'logging out twice is fine');
      const foreign = await post(`${server.base}/api/auth/logout`, { token: 'not-ours' });
      assert.equal(foreign.status, 400);
      assert.equal(foreign.text, 'Invalid message: the token was not issued by this server.\r\n\r\n');
      assert.equal((await post(`${server.base}/api/auth/logout`, {})).status, 400);
      // A fresh login is not affected by another token's logout.
      const again = (await post(`${server.base}/api/auth`, { username: 'carol' })).json as { token: string };
      assert.equal((await notify(again.token)).json.result, 'SUCCESS');
    } finally {
      await server.stop();
    }
  });

  it("answers the strategy's own token at /api/auth and checks later requests with it through the strategy, as deepstream does", async () => {
    const seen: unknown[] = [];
    const tokenStrategy = definePlugin({
      name: 'test-token-strategy',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.hooks.authenticate.tap(ctx.name, ({ authData }): AuthenticationResult | undefined => {
          const data = authData as Record<string, unknown>;
          if (data.username === 'dora') return { isValid: true, id: 'dora', token: 'dora-session-1' };
          if (data.token === undefined) return undefined;
          seen.push(data);
          return data.token === 'dora-session-1' ? { isValid: true, id: 'dora', serverData: { role: 'admin' } } : { isValid: false };
        });
      },
    });
    const server = await startApiServer({}, { before: [testPermissions, tokenStrategy] });
    try {
      const login = await post(`${server.base}/api/auth`, { username: 'dora' });
      assert.deepEqual(login.json, { token: 'dora-session-1' });
      const batch = { token: 'dora-session-1', body: [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }] };
      assert.equal((await post(`${server.base}/api`, batch)).json.result, 'SUCCESS');
      assert.deepEqual(seen, [{ token: 'dora-session-1' }]);
      assert.equal((await post(`${server.base}/api`, { ...batch, token: 'dora-session-0' })).status, 401);
    } finally {
      await server.stop();
    }
  });

  it('tells official subscribers about records changed in storage after a notify', async () => {
    const storage = new ControllableStorage();
    const server = await startApiServer({}, { storage: controllableStorage(storage) });
    try {
      const c = await server.client();
      const name = unique('external');
      await post(`${server.base}/api`, { body: [{ topic: 'record', action: 'write', recordName: name, data: { n: 1 } }] });
      const record = c.record.getRecord(name);
      await record.whenReady();
      storage.records.set(name, { version: 5, data: { n: 'changed elsewhere' } });
      const reply = await post(`${server.base}/api`, { body: [{ topic: 'record', action: 'notify', recordNames: [name] }] });
      assert.deepEqual(reply.json, { result: 'SUCCESS', body: [{ success: true }] });
      await pause(100);
      assert.deepEqual(record.get(), { n: 'changed elsewhere' });
      assert.equal(record.version, 5);
      c.close();
    } finally {
      await server.stop();
    }
  });

  it('answers requests for a topic no plugin owns with an error result', async () => {
    const server = await startApiServer({}, { withoutRpc: true });
    try {
      const reply = await post(`${server.base}/api`, {
        body: [
          { topic: 'rpc', action: 'make', rpcName: 'anything' },
          { topic: 'event', action: 'emit', eventName: 'fine' },
        ],
      });
      assert.deepEqual(reply.json, {
        result: 'PARTIAL_SUCCESS',
        body: [{ errorTopic: 'parser', errorEvent: 1, success: false, error: 'An error occurred: UNKNOWN_TOPIC.' }, { success: true }],
      });
    } finally {
      await server.stop();
    }
  });

  it('answers unanswered requests with HTTP_REQUEST_TIMEOUT once requestTimeout passes', async () => {
    const server = await startApiServer({ requestTimeout: 200 });
    try {
      const provider = await server.client('provider');
      provider.rpc.provide('slow', (_data: unknown, response: any) => response.accept());
      await pause(100);
      const started = Date.now();
      const reply = await post(`${server.base}/api`, {
        body: [
          { topic: 'rpc', action: 'make', rpcName: 'slow' },
          { topic: 'presence', action: 'query' },
        ],
      });
      assert.ok(Date.now() - started < 550, 'sent when the request timeout fires, before the RPC times out');
      assert.deepEqual(reply.json, {
        result: 'PARTIAL_SUCCESS',
        body: [
          { success: false, error: 'Request exceeded timeout before a response was received.', errorTopic: 'connection', errorEvent: 'HTTP_REQUEST_TIMEOUT' },
          { success: true, users: ['provider'] },
        ],
      });
      provider.close();
    } finally {
      await server.stop();
    }
  });

  it('answers requests in flight when the server shuts down', async () => {
    const storage = new ControllableStorage();
    const server = await startApiServer({ requestTimeout: 5000 }, { storage: controllableStorage(storage) });
    storage.mode = 'hang';
    const pending = post(`${server.base}/api`, {
      body: [
        { topic: 'record', action: 'read', recordName: 'stuck' },
        { topic: 'presence', action: 'query' },
      ],
    });
    await pause(100);
    await server.stop();
    const reply = await pending;
    assert.deepEqual(reply.json, {
      result: 'PARTIAL_SUCCESS',
      body: [
        { success: false, error: 'The server shut down before a response was received.', errorTopic: 'connection', errorEvent: 'HTTP_SERVER_SHUTDOWN' },
        { success: true, users: [] },
      ],
    });
  });
});
