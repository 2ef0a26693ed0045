/** RPC across cluster nodes (EVENTS_RPC_PRESENCE §5), nodes in one process joined by a memory hub. */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RPC_ACTION } from '@deepstream-ts/core';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import { client, closeClients, drained, isAction, pause, provided, providedNames, raw, rpcMessage, startRpcServer, until, type RpcServer } from './helpers.ts';

type Client = Awaited<ReturnType<typeof client>>;

function attempt(c: Client, name: string, data?: unknown): Promise<{ ok: unknown } | { error: unknown }> {
  return c.rpc.make(name, data).then(
    (ok: unknown) => ({ ok }),
    (error: unknown) => ({ error }),
  );
}

const FAST_CLUSTER = { ackTimeout: 300, responseTimeout: 1000 };

/** Long enough for a provider's PROVIDE to reach the other nodes' replicated registries. */
const propagated = () => pause(30);

describe('rpc across three nodes', () => {
  let nodes: RpcServer[] = [];
  const options = { ackTimeout: 300, responseTimeout: 1000, provideRequestorName: true };
  before(async () => {
    const hub = new MemoryHub();
    for (const serverName of ['a', 'b', 'c']) nodes.push(await startRpcServer(options, [clusterMemory.with({ hub })], { serverName }));
  });
  afterEach(closeClients);
  after(async () => {
    for (const node of nodes) await node.stop();
  });
  const a = () => nodes[0]!;
  const b = () => nodes[1]!;
  const c = () => nodes[2]!;

  it('routes a call made on one node to the provider on another, with its arguments, requestor and result', async () => {
    const [provider, caller] = await Promise.all([client(b().url), client(a().url, 'alice')]);
    const seen: unknown[] = [];
    // The official client passes { requestorName, requestorData } as a third argument.
    const provide = provider.rpc.provide.bind(provider.rpc) as (name: string, cb: (data: { x: number; y: number }, response: { send(v: unknown): void }, requestor?: { requestorName?: string }) => void) => void;
    provide('remote-add', (data, response, requestor) => {
      seen.push(requestor?.requestorName);
      response.send(data.x + data.y);
    });
    await providedNames(b(), 1);
    await propagated();
    assert.deepEqual(await attempt(caller, 'remote-add', { x: 2, y: 40 }), { ok: 42 });
    assert.deepEqual(seen, ['alice'], 'the requester\'s name crosses the cluster');
    assert.equal(a().service.stats.pendingCalls, 0);
    assert.equal(b().service.stats.pendingCalls, 0);
  });

  it('prefers a local provider over remote ones', async () => {
    const [local, remote, caller] = await Promise.all([client(a().url), client(b().url), client(a().url)]);
    local.rpc.provide('where', (_d, response) => response.send('a'));
    remote.rpc.provide('where', (_d, response) => response.send('b'));
    await providedNames(a(), 1);
    await providedNames(b(), 1);
    await propagated();
    const answers = await Promise.all([1, 2, 3, 4].map(() => attempt(caller, 'where')));
    assert.deepEqual(answers, [{ ok: 'a' }, { ok: 'a' }, { ok: 'a' }, { ok: 'a' }]);
  });

  it('re-routes a rejected call to another node, and answers NO_RPC_PROVIDER only when every node declined', async () => {
    const [onB, onC, caller] = await Promise.all([client(b().url), client(c().url), client(a().url)]);
    const asked: string[] = [];
    onB.rpc.provide('picky', (_d, response) => {
      asked.push('b');
      response.reject();
    });
    onC.rpc.provide('picky', (_d, response) => {
      asked.push('c');
      response.send('c took it');
    });
    await Promise.all([providedNames(b(), 1), providedNames(c(), 1)]);
    await propagated();
    for (let i = 0; i < 4; i++) assert.deepEqual(await attempt(caller, 'picky'), { ok: 'c took it' });
    assert.ok(asked.includes('b'), 'b was asked at least once (rotation) and declined');
    onC.rpc.unprovide('picky');
    await until(() => c().service.stats.providedNames === 0, 'c stops providing');
    await propagated();
    assert.deepEqual(await attempt(caller, 'picky'), { error: 'NO_RPC_PROVIDER' });
    assert.deepEqual(await attempt(caller, 'nobody-anywhere'), { error: 'NO_RPC_PROVIDER' });
  });

  it('reports the serving node\'s ACCEPT_TIMEOUT and RESPONSE_TIMEOUT to the requester', async () => {
    const [provider, caller] = await Promise.all([client(c().url), client(a().url)]);
    provider.rpc.provide('never-accepts', (_d, response) => {
      response.autoAccept = false;
    });
    provider.rpc.provide('never-answers', () => {});
    await providedNames(c(), 2);
    await propagated();
    assert.deepEqual(await attempt(caller, 'never-accepts'), { error: 'ACCEPT_TIMEOUT' });
    assert.deepEqual(await attempt(caller, 'never-answers'), { error: 'RESPONSE_TIMEOUT' });
    await until(() => a().service.stats.pendingCalls === 0 && c().service.stats.pendingCalls === 0, 'both nodes forget the calls');
  });

  it('acknowledges PROVIDE and UNPROVIDE once every node knows, and shows a remote provider the requester\'s own id', async () => {
    const [provider, requester] = await Promise.all([raw(b().url), raw(a().url)]);
    await provided(provider, ['acked']);
    // No pause: after the ack, a call made on another node finds the provider.
    requester.send(rpcMessage(RPC_ACTION.REQUEST, { name: 'acked', correlationId: 'mine-1', data: '1' }));
    const request = await provider.next(isAction(RPC_ACTION.REQUEST));
    assert.equal(request.correlationId, 'mine-1', 'the id the requester chose, not one the nodes use between them');
    provider.send(rpcMessage(RPC_ACTION.RESPONSE, { name: 'acked', correlationId: 'mine-1', data: '2' }));
    assert.deepEqual(await requester.next(isAction(RPC_ACTION.RESPONSE)), { topic: 6, action: RPC_ACTION.RESPONSE, name: 'acked', correlationId: 'mine-1', data: '2', names: [] });
    provider.send(rpcMessage(RPC_ACTION.UNPROVIDE, { names: ['acked'], correlationId: 'u' }));
    await provider.next((m) => m.isAck === true && m.correlationId === 'u');
    requester.send(rpcMessage(RPC_ACTION.REQUEST, { name: 'acked', correlationId: 'mine-2' }));
    assert.equal((await requester.next()).action, RPC_ACTION.NO_RPC_PROVIDER, 'after the UNPROVIDE ack no node routes to it');
    closeClients();
    // The index each node keeps for the others is not a session: the counts go back to 0.
    await Promise.all(nodes.map((node) => drained(node)));
  });

  it('relays the provider\'s error to the requester on another node', async () => {
    const [provider, caller] = await Promise.all([client(b().url), client(c().url)]);
    provider.rpc.provide('fails', (_d, response) => response.error('no can do'));
    await providedNames(b(), 1);
    await propagated();
    assert.deepEqual(await attempt(caller, 'fails'), { error: 'no can do' });
  });
});

describe('rpc when a node joins later', () => {
  it('learns the providers the other nodes already had', async () => {
    const hub = new MemoryHub();
    const a = await startRpcServer(FAST_CLUSTER, [clusterMemory.with({ hub })], { serverName: 'a' });
    let late: RpcServer | undefined;
    try {
      const provider = await client(a.url);
      provider.rpc.provide('was-here-first', (_d, response) => response.send('from a'));
      await providedNames(a, 1);
      late = await startRpcServer(FAST_CLUSTER, [clusterMemory.with({ hub })], { serverName: 'late' });
      const caller = await client(late.url);
      await propagated();
      assert.deepEqual(await attempt(caller, 'was-here-first'), { ok: 'from a' });
    } finally {
      closeClients();
      await Promise.allSettled([a.stop(), late?.stop()]);
    }
  });
});

describe('rpc when a node goes away', () => {
  it('moves a waiting call to a provider on a surviving node, and fails an accepted one', async () => {
    const onHub = [clusterMemory.with({ hub: new MemoryHub() })];
    const options = { ackTimeout: 5000, responseTimeout: 10_000 };
    const [a, b, c] = [
      await startRpcServer(options, onHub, { serverName: 'a' }),
      await startRpcServer(options, onHub, { serverName: 'b' }),
      await startRpcServer(options, onHub, { serverName: 'c' }),
    ];
    try {
      const [onB, onC, caller] = await Promise.all([client(b.url), client(c.url), client(a.url)]);
      let atB = 0;
      onB.rpc.provide('survive', (_d, response) => {
        atB++;
        response.autoAccept = false; // b sits on it until it goes down
      });
      onB.rpc.provide('accepted', (_d, response) => response.accept());
      await providedNames(b, 2);
      await propagated();
      const waiting = attempt(caller, 'survive');
      const accepted = attempt(caller, 'accepted');
      await until(() => atB === 1 && b.service.stats.pendingCalls === 2, 'b holds both calls');
      onC.rpc.provide('survive', (_d, response) => response.send('c'));
      await providedNames(c, 1);
      await propagated();
      const started = Date.now();
      await b.stop();
      assert.deepEqual(await waiting, { ok: 'c' });
      assert.deepEqual(await accepted, { error: 'RESPONSE_TIMEOUT' }, 'an accepted call may have run: it is not run again');
      assert.ok(Date.now() - started < 2000, 'long before any deadline');
      await until(() => a.service.stats.pendingCalls === 0, 'a forgets the calls');
    } finally {
      closeClients();
      await Promise.allSettled([a.stop(), b.stop(), c.stop()]);
    }
  });
});
