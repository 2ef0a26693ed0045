/** Exact RPC wire shapes with raw protocol clients (PROTOCOL §7.6, EVENTS_RPC_PRESENCE §2). */
import { afterEach, after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RPC_ACTION, TOPIC } from '@deepstream-ts/core';
import { clustered } from '../../../test/helpers/topology.ts';
import { clientDataAuth, closeClients, drained, firstToReceive, isAction, provided, raw, rpcMessage, startRpcServer, useServer, type RpcServer } from './helpers.ts';

const { REQUEST, ACCEPT, RESPONSE, REJECT, REQUEST_ERROR, PROVIDE, UNPROVIDE } = RPC_ACTION;
/** Decoded repeated fields are [] even when absent on the wire. */
const wire = (fields: object) => ({ topic: TOPIC.RPC, ...fields, names: [] });

describe('rpc wire: providing', () => {
  const server = useServer();

  it('acks PROVIDE and UNPROVIDE with the correlationId and no names', async () => {
    const c = await raw(server().url);
    c.send(rpcMessage(PROVIDE, { names: ['x', 'y'], correlationId: '0' }));
    assert.deepEqual(await c.next(), wire({ action: PROVIDE, correlationId: '0', isAck: true }));
    c.send(rpcMessage(UNPROVIDE, { names: ['x', 'never-provided'], correlationId: '1' }));
    assert.deepEqual(await c.next(), wire({ action: UNPROVIDE, correlationId: '1', isAck: true }));
    assert.equal(server().service.stats.providedNames, 1);
  });

  it('answers a duplicate PROVIDE with MULTIPLE_PROVIDERS (no isError) and still acks', async () => {
    const c = await raw(server().url);
    await provided(c, ['dup']);
    c.send(rpcMessage(PROVIDE, { names: ['dup'], correlationId: '2' }));
    assert.deepEqual(await c.next(), wire({ action: RPC_ACTION.MULTIPLE_PROVIDERS, name: 'dup', originalAction: PROVIDE }));
    assert.deepEqual(await c.next(), wire({ action: PROVIDE, correlationId: '2', isAck: true }));
  });
});

describe('rpc wire: a call', () => {
  const server = useServer();

  it('forwards the request verbatim, then ACCEPT and RESPONSE back with the same id', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['add']);
    requester.send(rpcMessage(REQUEST, { name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz', data: '{"a":1, "b":2}' }));
    // No requestorName / requestorData by default; the payload's odd spacing survives.
    assert.deepEqual(await provider.next(), wire({ action: REQUEST, name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz', data: '{"a":1, "b":2}' }));
    provider.send(rpcMessage(ACCEPT, { name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz' }));
    assert.deepEqual(await requester.next(), wire({ action: ACCEPT, name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz' }));
    provider.send(rpcMessage(RESPONSE, { name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz', data: '3' }));
    assert.deepEqual(await requester.next(), wire({ action: RESPONSE, name: 'add', correlationId: 'mwzxs1fg-1fu2xc9vcxz', data: '3' }));
    assert.ok(await provider.nothingWithin(50));
    assert.equal(server().service.stats.pendingCalls, 0);
  });

  it('sends no data field when the request or response has none; RESPONSE without ACCEPT ends the call', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['bare']);
    requester.send(rpcMessage(REQUEST, { name: 'bare', correlationId: 'c1' }));
    assert.deepEqual(await provider.next(), wire({ action: REQUEST, name: 'bare', correlationId: 'c1' }));
    provider.send(rpcMessage(RESPONSE, { name: 'bare', correlationId: 'c1' }));
    assert.deepEqual(await requester.next(), wire({ action: RESPONSE, name: 'bare', correlationId: 'c1' }));
  });

  it('forwards REQUEST_ERROR and ends the call', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['boom']);
    requester.send(rpcMessage(REQUEST, { name: 'boom', correlationId: 'e1', data: '1' }));
    await provider.next(isAction(REQUEST));
    provider.send(rpcMessage(REQUEST_ERROR, { name: 'boom', correlationId: 'e1', data: '{"reason":"broken"}' }));
    assert.deepEqual(await requester.next(), wire({ action: REQUEST_ERROR, name: 'boom', correlationId: 'e1', data: '{"reason":"broken"}' }));
    provider.send(rpcMessage(RESPONSE, { name: 'boom', correlationId: 'e1', data: '2' }));
    assert.deepEqual(
      await provider.next(),
      wire({ action: RPC_ACTION.INVALID_RPC_CORRELATION_ID, name: 'boom', correlationId: 'e1', originalAction: RESPONSE, isError: true }),
    );
  });

  it('answers a second ACCEPT with MULTIPLE_ACCEPT and a second RESPONSE with INVALID_RPC_CORRELATION_ID', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['twice']);
    requester.send(rpcMessage(REQUEST, { name: 'twice', correlationId: 't1' }));
    await provider.next(isAction(REQUEST));
    provider.send(rpcMessage(ACCEPT, { name: 'twice', correlationId: 't1' }));
    provider.send(rpcMessage(ACCEPT, { name: 'twice', correlationId: 't1' }));
    assert.deepEqual(await provider.next(), wire({ action: RPC_ACTION.MULTIPLE_ACCEPT, name: 'twice', correlationId: 't1' }));
    provider.send(rpcMessage(RESPONSE, { name: 'twice', correlationId: 't1', data: '1' }));
    provider.send(rpcMessage(RESPONSE, { name: 'twice', correlationId: 't1', data: '2' }));
    assert.deepEqual(
      await provider.next(),
      wire({ action: RPC_ACTION.INVALID_RPC_CORRELATION_ID, name: 'twice', correlationId: 't1', originalAction: RESPONSE, isError: true }),
    );
    assert.equal((await requester.next()).action, ACCEPT, 'exactly one ACCEPT reaches the requester');
    assert.deepEqual(await requester.next(), wire({ action: RESPONSE, name: 'twice', correlationId: 't1', data: '1' }));
    assert.ok(await requester.nothingWithin(50));
  });

  it('re-routes on REJECT as observed on deepstream 7.0.2, and answers NO_RPC_PROVIDER when all rejected', async () => {
    const [a, c, b] = await Promise.all([raw(server().url), raw(server().url), raw(server().url)]);
    await provided(a, ['add']);
    await provided(c, ['add']);
    b.send(rpcMessage(REQUEST, { name: 'add', correlationId: 'r5', data: '5' }));
    const { client: first } = await firstToReceive([a, c], isAction(REQUEST));
    const second = first === a ? c : a;
    first.send(rpcMessage(REJECT, { name: 'add', correlationId: 'r5' }));
    assert.deepEqual(await second.next(), wire({ action: REQUEST, name: 'add', correlationId: 'r5', data: '5' }));
    second.send(rpcMessage(RESPONSE, { name: 'add', correlationId: 'r5', data: '"ok"' }));
    assert.deepEqual(await b.next(), wire({ action: RESPONSE, name: 'add', correlationId: 'r5', data: '"ok"' }));

    b.send(rpcMessage(REQUEST, { name: 'add', correlationId: 'r6' }));
    for (let i = 0; i < 2; i++) {
      const { client: asked } = await firstToReceive([a, c], isAction(REQUEST));
      asked.send(rpcMessage(REJECT, { name: 'add', correlationId: 'r6' }));
    }
    assert.deepEqual(await b.next(), wire({ action: RPC_ACTION.NO_RPC_PROVIDER, name: 'add', correlationId: 'r6' }));
  });

  it('answers NO_RPC_PROVIDER at once when nobody provides the name', async () => {
    const requester = await raw(server().url);
    requester.send(rpcMessage(REQUEST, { name: 'nobody', correlationId: 'n1', data: '1' }));
    assert.deepEqual(await requester.next(), wire({ action: RPC_ACTION.NO_RPC_PROVIDER, name: 'nobody', correlationId: 'n1' }));
  });

  it('keeps calls of two requesters with the same correlationId apart, even at one provider', async () => {
    const [provider, one, two] = await Promise.all([raw(server().url), raw(server().url), raw(server().url)]);
    await provided(provider, ['same']);
    one.send(rpcMessage(REQUEST, { name: 'same', correlationId: 'x', data: '1' }));
    const toOne = await provider.next(isAction(REQUEST));
    two.send(rpcMessage(REQUEST, { name: 'same', correlationId: 'x', data: '2' }));
    const toTwo = await provider.next(isAction(REQUEST));
    assert.equal(toOne.correlationId, 'x');
    assert.notEqual(toTwo.correlationId, 'x', 'the provider gets a distinct id for the second call');
    provider.send(rpcMessage(RESPONSE, { name: 'same', correlationId: toTwo.correlationId, data: '"for two"' }));
    provider.send(rpcMessage(RESPONSE, { name: 'same', correlationId: toOne.correlationId, data: '"for one"' }));
    assert.deepEqual(await one.next(), wire({ action: RESPONSE, name: 'same', correlationId: 'x', data: '"for one"' }));
    assert.deepEqual(await two.next(), wire({ action: RESPONSE, name: 'same', correlationId: 'x', data: '"for two"' }));
  });

  it('routes a call to the requester itself when it is the provider', async () => {
    const me = await raw(server().url);
    await provided(me, ['self']);
    me.send(rpcMessage(REQUEST, { name: 'self', correlationId: 's1', data: '"hi"' }));
    assert.deepEqual(await me.next(), wire({ action: REQUEST, name: 'self', correlationId: 's1', data: '"hi"' }));
    me.send(rpcMessage(RESPONSE, { name: 'self', correlationId: 's1', data: '"hi back"' }));
    assert.deepEqual(await me.next(), wire({ action: RESPONSE, name: 'self', correlationId: 's1', data: '"hi back"' }));
  });
});

describe('rpc wire: deadlines', () => {
  const server = useServer({ ackTimeout: 300, responseTimeout: 500 });

  it('sends ACCEPT_TIMEOUT (no isError) when the provider does not accept, then treats its replies as late', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['mute']);
    requester.send(rpcMessage(REQUEST, { name: 'mute', correlationId: 'm1' }));
    await provider.next(isAction(REQUEST));
    assert.deepEqual(await requester.next(), wire({ action: RPC_ACTION.ACCEPT_TIMEOUT, name: 'mute', correlationId: 'm1' }));
    provider.send(rpcMessage(ACCEPT, { name: 'mute', correlationId: 'm1' }));
    assert.deepEqual(
      await provider.next(),
      wire({ action: RPC_ACTION.INVALID_RPC_CORRELATION_ID, name: 'mute', correlationId: 'm1', originalAction: ACCEPT, isError: true }),
    );
    assert.ok(await requester.nothingWithin(50));
  });

  it('counts the response deadline from dispatch: ACCEPT does not restart it', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['lazy']);
    requester.send(rpcMessage(REQUEST, { name: 'lazy', correlationId: 'l1' }));
    await provider.next(isAction(REQUEST));
    const dispatched = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 250)); // a restarted deadline would end at 750 ms
    provider.send(rpcMessage(ACCEPT, { name: 'lazy', correlationId: 'l1' }));
    await requester.next(isAction(ACCEPT));
    assert.deepEqual(await requester.next(), wire({ action: RPC_ACTION.RESPONSE_TIMEOUT, name: 'lazy', correlationId: 'l1' }));
    const elapsed = Date.now() - dispatched;
    // In a cluster the requester's node starts the deadline when it forwards the call: the provider
    // gets it one bus hop later, so from the provider's side the deadline is shorter by that hop.
    const early = clustered ? 100 : 20;
    assert.ok(elapsed >= 500 - early && elapsed < 700, `RESPONSE_TIMEOUT after ${elapsed} ms, expected about 500`);
  });

  it('restarts both deadlines for the provider a rejected call moves to', async () => {
    const [first, second, requester] = await Promise.all([raw(server().url), raw(server().url), raw(server().url)]);
    await provided(first, ['relay']);
    requester.send(rpcMessage(REQUEST, { name: 'relay', correlationId: 'q1' }));
    await first.next(isAction(REQUEST));
    await provided(second, ['relay']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    first.send(rpcMessage(REJECT, { name: 'relay', correlationId: 'q1' }));
    await second.next(isAction(REQUEST));
    const rerouted = Date.now();
    assert.deepEqual(await requester.next(), wire({ action: RPC_ACTION.ACCEPT_TIMEOUT, name: 'relay', correlationId: 'q1' }));
    assert.ok(Date.now() - rerouted >= 280, 'a fresh ack deadline after the re-route');
  });
});

describe('rpc wire: requestor identity', () => {
  const withClientData = clientDataAuth((username) => ({ tag: username }));
  let server: RpcServer;
  before(async () => {
    server = await startRpcServer({ provideRequestorName: true, provideRequestorData: true }, [withClientData]);
  });
  afterEach(async () => {
    closeClients();
    await drained(server);
  });
  after(() => server.stop());

  it('adds requestorName and requestorData (JSON text), encoded once more on every re-route, never twice', async () => {
    const [a, b, requester] = await Promise.all([raw(server.url, { username: 'a' }), raw(server.url, { username: 'b' }), raw(server.url, { username: 'carol' })]);
    await provided(a, ['who']);
    await provided(b, ['who']);
    requester.send(rpcMessage(REQUEST, { name: 'who', correlationId: 'w1', data: '1' }));
    const expected = wire({ action: REQUEST, name: 'who', correlationId: 'w1', data: '1', requestorName: 'carol', requestorData: '{"tag":"carol"}' });
    const first = await firstToReceive([a, b], isAction(REQUEST));
    assert.deepEqual(first.message, expected);
    first.client.send(rpcMessage(REJECT, { name: 'who', correlationId: 'w1' }));
    const other = first.client === a ? b : a;
    assert.deepEqual(await other.next(isAction(REQUEST)), expected);
  });
});
