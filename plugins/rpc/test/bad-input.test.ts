/** Bad and hostile input: the offending client gets a clear error, nothing leaks, the server stays up. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RPC_ACTION, TOPIC, isDeepstreamError } from '@deepstream-ts/core';
import { TOO_MANY_PENDING_RPCS } from '@deepstream-ts/plugin-rpc';
import { client, drained, isAction, provided, raw, rpcMessage, startRpcServer, until, useServer, type RpcServer } from './helpers.ts';
import type { RawClient } from '@deepstream-ts/core/testing';

const { REQUEST, ACCEPT, RESPONSE, REJECT, REQUEST_ERROR, PROVIDE } = RPC_ACTION;
const wire = (fields: object) => ({ topic: TOPIC.RPC, ...fields, names: [] });

/** A full call still works: the server is up and the RPC plugin healthy. */
async function stillServes(server: RpcServer): Promise<void> {
  const [provider, requester] = await Promise.all([raw(server.url), raw(server.url)]);
  await provided(provider, ['health']);
  requester.send(rpcMessage(REQUEST, { name: 'health', correlationId: 'ok?' }));
  await provider.next(isAction(REQUEST));
  provider.send(rpcMessage(RESPONSE, { name: 'health', correlationId: 'ok?', data: '"ok"' }));
  assert.equal((await requester.next(isAction(RESPONSE))).data, '"ok"');
  provider.close();
  requester.close();
}

describe('rpc bad input: correlation ids', () => {
  const server = useServer();

  it('answers replies with unknown correlation ids with INVALID_RPC_CORRELATION_ID', async () => {
    const c = await raw(server().url);
    for (const action of [ACCEPT, RESPONSE, REJECT, REQUEST_ERROR]) {
      c.send(rpcMessage(action, { name: 'ghost', correlationId: 'nope', data: action === RESPONSE ? '1' : undefined }));
      assert.deepEqual(
        await c.next(),
        wire({ action: RPC_ACTION.INVALID_RPC_CORRELATION_ID, name: 'ghost', correlationId: 'nope', originalAction: action, isError: true }),
      );
    }
    await stillServes(server());
    await drained(server());
  });

  it('refuses replies from a client that was not asked, and the call goes on', async () => {
    const [provider, intruder, requester] = await Promise.all([raw(server().url), raw(server().url), raw(server().url)]);
    await provided(provider, ['target']);
    await provided(intruder, ['other']);
    requester.send(rpcMessage(REQUEST, { name: 'target', correlationId: 'victim' }));
    await provider.next(isAction(REQUEST));
    for (const action of [ACCEPT, RESPONSE, REJECT]) {
      intruder.send(rpcMessage(action, { name: 'target', correlationId: 'victim', data: action === RESPONSE ? '"forged"' : undefined }));
      assert.equal((await intruder.next()).action, RPC_ACTION.INVALID_RPC_CORRELATION_ID);
    }
    assert.ok(await requester.nothingWithin(50), 'nothing forged reaches the requester');
    provider.send(rpcMessage(RESPONSE, { name: 'target', correlationId: 'victim', data: '"genuine"' }));
    assert.deepEqual(await requester.next(), wire({ action: RESPONSE, name: 'target', correlationId: 'victim', data: '"genuine"' }));
  });

  it('refuses a reply whose name does not match the call', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['real']);
    requester.send(rpcMessage(REQUEST, { name: 'real', correlationId: 'n1' }));
    await provider.next(isAction(REQUEST));
    provider.send(rpcMessage(RESPONSE, { name: 'fake', correlationId: 'n1', data: '1' }));
    assert.equal((await provider.next()).action, RPC_ACTION.INVALID_RPC_CORRELATION_ID);
    assert.ok(await requester.nothingWithin(50));
  });

  it('refuses a second REQUEST reusing the id of a pending call of the same client; the first goes on', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['once']);
    requester.send(rpcMessage(REQUEST, { name: 'once', correlationId: 'dup', data: '1' }));
    await provider.next(isAction(REQUEST));
    requester.send(rpcMessage(REQUEST, { name: 'once', correlationId: 'dup', data: '2' }));
    assert.deepEqual(
      await requester.next(),
      wire({ action: RPC_ACTION.INVALID_RPC_CORRELATION_ID, name: 'once', correlationId: 'dup', originalAction: REQUEST, isError: true }),
    );
    assert.ok(await provider.nothingWithin(50), 'the provider is not asked twice');
    provider.send(rpcMessage(RESPONSE, { name: 'once', correlationId: 'dup', data: '"first"' }));
    assert.equal((await requester.next()).data, '"first"');
  });
});

describe('rpc bad input: a provider that never answers', () => {
  const server = useServer({ ackTimeout: 100, responseTimeout: 300 });

  it('ends the call with ACCEPT_TIMEOUT and keeps nothing', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['void']);
    for (let i = 0; i < 20; i++) requester.send(rpcMessage(REQUEST, { name: 'void', correlationId: `v${i}` }));
    await until(() => requester.received.length === 20, '20 timeouts');
    assert.ok(requester.received.every((m) => m.action === RPC_ACTION.ACCEPT_TIMEOUT));
    assert.equal(server().service.stats.pendingCalls, 0);
    provider.close();
    requester.close();
    await drained(server());
  });
});

describe('rpc bad input: 10 000 pending requests from one client', () => {
  // Default limit (1000); long deadlines, so that calls stay pending for the whole test.
  const server = useServer({ ackTimeout: 20_000, responseTimeout: 30_000 });

  it('keeps 1000 pending, answers the rest with REQUEST_ERROR "TOO_MANY_PENDING_RPCS", warns once, and recovers', async () => {
    const [provider, flooder, bystander] = await Promise.all([raw(server().url), raw(server().url), raw(server().url)]);
    await provided(provider, ['sink']);
    const requests = (c: RawClient) => c.received.filter(isAction(REQUEST)).length;
    for (let i = 0; i < 10_000; i++) flooder.send(rpcMessage(REQUEST, { name: 'sink', correlationId: String(i), data: '1' }));
    await until(() => flooder.received.length === 9000, '9000 refusals', 10_000);
    await until(() => requests(provider) === 1000, 'the provider has 1000 calls');
    assert.deepEqual(flooder.received[0], wire({ action: REQUEST_ERROR, name: 'sink', correlationId: '1000', originalAction: REQUEST, isError: true, data: JSON.stringify(TOO_MANY_PENDING_RPCS) }));
    assert.ok(flooder.received.every((m) => m.action === REQUEST_ERROR && m.data === '"TOO_MANY_PENDING_RPCS"'));
    assert.equal(server().service.stats.pendingCalls, 1000);
    const limitWarnings = server().warnings().filter((w) => w.msg.includes('too many pending'));
    assert.equal(limitWarnings.length, 1, 'one warning per session, not per refused request');

    // The limit is per session: others are not affected.
    bystander.send(rpcMessage(REQUEST, { name: 'sink', correlationId: 'b' }));
    await until(() => requests(provider) === 1001, 'the bystander call reaches the provider');

    // An answered call frees a slot.
    flooder.received.length = 0;
    provider.send(rpcMessage(RESPONSE, { name: 'sink', correlationId: '0', data: '0' }));
    await flooder.next(isAction(RESPONSE));
    flooder.send(rpcMessage(REQUEST, { name: 'sink', correlationId: 'again' }));
    await until(() => requests(provider) === 1002, 'a new call fits again');
    flooder.send(rpcMessage(REQUEST, { name: 'sink', correlationId: 'over' }));
    assert.equal((await flooder.next()).action, REQUEST_ERROR);

    for (const c of [provider, flooder, bystander]) c.close();
    await drained(server());
    await stillServes(server());
  });

  it('the official client sees the limit as a rejected make()', async () => {
    const limited = await startRpcServer({ maxPendingPerSession: 3, ackTimeout: 20_000, responseTimeout: 30_000 });
    try {
      const [provider, caller] = await Promise.all([client(limited.url), client(limited.url)]);
      provider.rpc.provide('hold', () => undefined);
      await until(() => limited.service.stats.providedNames === 1, 'provided');
      const calls = Array.from({ length: 4 }, () => caller.rpc.make('hold', null).catch((error: unknown) => error));
      assert.equal(await calls[3], TOO_MANY_PENDING_RPCS);
      assert.equal(limited.service.stats.pendingCalls, 3);
      provider.close();
      caller.close();
      await drained(limited);
    } finally {
      await limited.stop();
    }
  });
});

describe('rpc bad input: malformed messages', () => {
  const server = useServer();
  const invalid = (fields: object) => wire({ action: RPC_ACTION.INVALID_MESSAGE_DATA, isError: true, ...fields });

  it('answers requests without a name or correlationId with INVALID_MESSAGE_DATA', async () => {
    const [provider, c] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['x']);
    c.send(rpcMessage(REQUEST, { correlationId: 'c1', data: '1' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: REQUEST, correlationId: 'c1' }));
    c.send(rpcMessage(REQUEST, { name: '', correlationId: 'c2' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: REQUEST, name: '', correlationId: 'c2' }));
    c.send(rpcMessage(REQUEST, { name: 'x' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: REQUEST, name: 'x' }));
    c.send(rpcMessage(REQUEST, { name: 'x', correlationId: '' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: REQUEST, name: 'x', correlationId: '' }));
    assert.ok(await provider.nothingWithin(50));
    assert.equal(server().service.stats.pendingCalls, 0);
  });

  it('refuses arguments that are not JSON before they reach a provider', async () => {
    const [provider, c] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['x']);
    c.send(rpcMessage(REQUEST, { name: 'x', correlationId: 'j1', data: '{not json' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: REQUEST, name: 'x', correlationId: 'j1' }));
    assert.ok(await provider.nothingWithin(50));
  });

  it('answers provider replies without a name or correlationId, or with a non-JSON payload, with INVALID_MESSAGE_DATA; the call goes on', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['y']);
    requester.send(rpcMessage(REQUEST, { name: 'y', correlationId: 'k' }));
    await provider.next(isAction(REQUEST));
    provider.send(rpcMessage(ACCEPT, { name: 'y' }));
    assert.deepEqual(await provider.next(), invalid({ originalAction: ACCEPT, name: 'y' }));
    provider.send(rpcMessage(RESPONSE, { correlationId: 'k', data: '1' }));
    assert.deepEqual(await provider.next(), invalid({ originalAction: RESPONSE, correlationId: 'k' }));
    provider.send(rpcMessage(RESPONSE, { name: 'y', correlationId: 'k', data: 'undefined' }));
    assert.deepEqual(await provider.next(), invalid({ originalAction: RESPONSE, name: 'y', correlationId: 'k' }));
    assert.ok(await requester.nothingWithin(50));
    provider.send(rpcMessage(RESPONSE, { name: 'y', correlationId: 'k', data: '"fine"' }));
    assert.equal((await requester.next()).data, '"fine"');
  });

  it('refuses empty names in PROVIDE and provides the rest', async () => {
    const c = await raw(server().url);
    c.send(rpcMessage(PROVIDE, { names: ['', 'valid'], correlationId: 'p' }));
    assert.deepEqual(await c.next(), invalid({ originalAction: PROVIDE, name: '', correlationId: 'p' }));
    assert.deepEqual(await c.next(), wire({ action: PROVIDE, correlationId: 'p', isAck: true }));
    assert.equal(server().service.stats.providedNames, 1);
    c.send(rpcMessage(PROVIDE, { names: [''], correlationId: 'q' }));
    assert.equal((await c.next()).action, RPC_ACTION.INVALID_MESSAGE_DATA);
    assert.ok(await c.nothingWithin(50), 'no ack when no name is left');
  });

  it('ignores server-to-client and unknown actions (logged), and keeps serving', async () => {
    const c = await raw(server().url);
    for (const action of [RPC_ACTION.NO_RPC_PROVIDER, RPC_ACTION.ACCEPT_TIMEOUT, RPC_ACTION.MULTIPLE_PROVIDERS, 99 as RPC_ACTION]) {
      c.send(rpcMessage(action, { name: 'n', correlationId: 'i' }));
    }
    assert.ok(await c.nothingWithin(100));
    assert.equal(server().warnings().filter((w) => w.msg === 'unsupported RPC action ignored').length, 4);
    c.close();
    await stillServes(server());
    await drained(server());
  });
});

describe('rpc cleanup on disconnect', () => {
  const server = useServer({ ackTimeout: 20_000, responseTimeout: 30_000 });

  it('forgets a vanished provider at once: its names and the calls it held', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['a', 'b', 'c']);
    for (let i = 0; i < 5; i++) requester.send(rpcMessage(REQUEST, { name: 'a', correlationId: `a${i}` }));
    await until(() => provider.received.filter(isAction(REQUEST)).length === 5, 'five calls at the provider');
    provider.close();
    await until(() => requester.received.length === 5, 'the requester is told at once');
    assert.ok(requester.received.every((m) => m.action === RPC_ACTION.NO_RPC_PROVIDER));
    requester.close();
    await drained(server());
  });

  it('forgets a client that called itself, without waiting for a deadline', async () => {
    const me = await raw(server().url);
    await provided(me, ['self']);
    me.send(rpcMessage(REQUEST, { name: 'self', correlationId: 's' }));
    await me.next(isAction(REQUEST));
    me.close();
    await drained(server());
  });

  it('drops calls of a vanished requester when their provider answers or leaves', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['p']);
    requester.send(rpcMessage(REQUEST, { name: 'p', correlationId: '1' }));
    requester.send(rpcMessage(REQUEST, { name: 'p', correlationId: '2' }));
    await until(() => provider.received.filter(isAction(REQUEST)).length === 2, 'two calls at the provider');
    provider.received.length = 0;
    requester.close();
    await until(() => server().service.stats.trackedRequestors === 0, 'the requester is forgotten');
    provider.send(rpcMessage(ACCEPT, { name: 'p', correlationId: '1' }));
    provider.send(rpcMessage(RESPONSE, { name: 'p', correlationId: '1', data: '1' }));
    await until(() => server().service.stats.pendingCalls === 1, 'the answered call is gone');
    assert.ok(await provider.nothingWithin(50), 'no error for answering a caller that left');
    provider.close();
    await drained(server());
  });

  it('clears every call and timer when the server stops', async () => {
    const own = await startRpcServer({ ackTimeout: 20_000, responseTimeout: 30_000 });
    const [provider, requester] = await Promise.all([raw(own.url), raw(own.url)]);
    await provided(provider, ['z']);
    requester.send(rpcMessage(REQUEST, { name: 'z', correlationId: '1' }));
    await provider.next(isAction(REQUEST));
    await own.stop();
    assert.equal(own.service.stats.pendingCalls, 0);
  });
});

describe('rpc options', () => {
  it('refuses to start with an invalid option, naming it', async () => {
    for (const [options, named] of [
      [{ ackTimeout: 0 }, 'ackTimeout'],
      [{ responseTimeout: -5 }, 'responseTimeout'],
      [{ maxPendingPerSession: 1.5 }, 'maxPendingPerSession'],
      [{ provideRequestorName: 'yes' as unknown as boolean }, 'provideRequestorName'],
    ] as const) {
      await assert.rejects(startRpcServer(options), (error) => isDeepstreamError(error) && error.code === 'DS_PLUGIN_OPTIONS_INVALID' && error.message.includes(`option "${named}"`));
    }
  });
});
