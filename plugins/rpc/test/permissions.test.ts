/** provide / request permissions through the kernel's authorize hook (SECURITY §3, PROTOCOL §5.4). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RPC_ACTION, TOPIC, definePlugin } from '@deepstream-ts/core';
import { client, drained, isAction, pause, provided, providedNames, raw, rpcMessage, until, useServer } from './helpers.ts';

const { PROVIDE, UNPROVIDE, REQUEST, ACCEPT, RESPONSE } = RPC_ACTION;
const wire = (fields: object) => ({ topic: TOPIC.RPC, ...fields, names: [] });

/** Every question the guard was asked, as [action, name]. */
const asked: Array<[number, string]> = [];

// Answers asynchronously, as a rule that loads data would; `slow/` names take 100 ms.
const guard = definePlugin({
  name: 'rpc-guard',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authorize.tapPromise(ctx.name, async ({ resource, permission, action, name, facts }) => {
      if (resource !== 'rpc') return undefined;
      asked.push([action as number, name]);
      if (name.startsWith('slow/')) await pause(100);
      if (name.startsWith('broken/')) return { allowed: false, error: true };
      if (permission === 'provide' && name.startsWith('secret/')) return { allowed: false };
      if (permission === 'request' && name.startsWith('forbidden/')) return { allowed: false };
      if (permission === 'request' && name === 'checked-args') {
        const args = (await facts?.data?.()) as { ok?: boolean } | undefined;
        return { allowed: args?.ok === true };
      }
      return undefined;
    });
  },
});

describe('rpc permissions', () => {
  const server = useServer(undefined, [guard]);

  it('does not register a denied provider, and the official client is told', async () => {
    const provider = await client(server().url);
    provider.rpc.provide('secret/plans', (_data, response) => response.send('leaked'));
    provider.rpc.provide('open/plans', (_data, response) => response.send('public'));
    await providedNames(server(), 1);
    await until(() => provider.errors.includes('MESSAGE_DENIED'), 'the provider hears about the denial');
    const caller = await client(server().url);
    assert.equal(await caller.rpc.make('open/plans', null), 'public');
    await assert.rejects(caller.rpc.make('secret/plans', null), (error) => error === 'NO_RPC_PROVIDER');
  });

  it('rejects a denied call with MESSAGE_DENIED, or MESSAGE_PERMISSION_ERROR when the rule fails, without asking the provider', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    let calls = 0;
    for (const name of ['forbidden/x', 'broken/x']) {
      provider.rpc.provide(name, (_data, response) => {
        calls++;
        response.send(null);
      });
    }
    await until(() => server().service.stats.providedNames === 1, 'forbidden/x is provided (broken/x is not)');
    await assert.rejects(caller.rpc.make('forbidden/x', 1), (error) => error === 'MESSAGE_DENIED');
    await assert.rejects(caller.rpc.make('broken/x', 1), (error) => error === 'MESSAGE_PERMISSION_ERROR');
    assert.equal(calls, 0);
  });

  it('lets rules check the arguments of a call', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('checked-args', (data: { ok: boolean }, response) => response.send(data.ok));
    await providedNames(server(), 1);
    assert.equal(await caller.rpc.make('checked-args', { ok: true }), true);
    await assert.rejects(caller.rpc.make('checked-args', { ok: false }), (error) => error === 'MESSAGE_DENIED');
    await assert.rejects(caller.rpc.make('checked-args', undefined), (error) => error === 'MESSAGE_DENIED');
  });

  it('checks bulk PROVIDE per name: MESSAGE_DENIED for denied names, the rest provided and acked; no ack when all are denied', async () => {
    const c = await raw(server().url);
    c.send(rpcMessage(PROVIDE, { names: ['open/a', 'secret/b', 'open/c'], correlationId: '4' }));
    assert.deepEqual(await c.next(), wire({ action: RPC_ACTION.MESSAGE_DENIED, name: 'secret/b', originalAction: PROVIDE, correlationId: '4', isError: true }));
    assert.deepEqual(await c.next(), wire({ action: PROVIDE, correlationId: '4', isAck: true }));
    assert.equal(server().service.stats.providedNames, 2);
    c.send(rpcMessage(PROVIDE, { names: ['secret/x'], correlationId: '5' }));
    assert.equal((await c.next()).action, RPC_ACTION.MESSAGE_DENIED);
    assert.ok(await c.nothingWithin(100));
  });

  it('answers a denied REQUEST with MESSAGE_DENIED carrying name, correlationId and originalAction', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['forbidden/y']);
    requester.send(rpcMessage(REQUEST, { name: 'forbidden/y', correlationId: 'd1', data: '1' }));
    assert.deepEqual(await requester.next(), wire({ action: RPC_ACTION.MESSAGE_DENIED, name: 'forbidden/y', correlationId: 'd1', originalAction: REQUEST, isError: true }));
    assert.ok(await provider.nothingWithin(50));
    await until(() => server().service.stats.pendingCalls === 0, 'the denied call is gone');
  });

  it('asks only about PROVIDE and REQUEST, never about UNPROVIDE or provider replies', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    asked.length = 0;
    await provided(provider, ['audit']);
    requester.send(rpcMessage(REQUEST, { name: 'audit', correlationId: 'a1' }));
    await provider.next(isAction(REQUEST));
    provider.send(rpcMessage(ACCEPT, { name: 'audit', correlationId: 'a1' }));
    provider.send(rpcMessage(RESPONSE, { name: 'audit', correlationId: 'a1', data: '1' }));
    await requester.next(isAction(RESPONSE));
    provider.send(rpcMessage(UNPROVIDE, { names: ['audit'], correlationId: 'u' }));
    await provider.next((m) => m.isAck === true);
    assert.deepEqual(asked, [
      [PROVIDE, 'audit'],
      [REQUEST, 'audit'],
    ]);
  });

  it('leaves nothing behind when a client leaves during a slow permission check', async () => {
    const [provider, requester] = await Promise.all([raw(server().url), raw(server().url)]);
    await provided(provider, ['open/target']);
    provider.send(rpcMessage(PROVIDE, { names: ['slow/name'], correlationId: 'late' }));
    requester.send(rpcMessage(REQUEST, { name: 'slow/call', correlationId: 'c' }));
    await until(() => server().service.stats.pendingCalls === 1, 'the call awaits its check');
    provider.close();
    requester.close();
    await pause(150); // both checks finish after their sessions are gone
    await drained(server());
    assert.equal(server().warnings().filter((w) => w.plugin === '@deepstream-ts/plugin-rpc' && w.level >= 50).length, 0);
  });
});
