/** The RPC plugin driven by the official client: what application code sees. */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clustered } from '../../../test/helpers/topology.ts';
import { client, clientDataAuth, closeClients, drained, pause, providedNames, providerSessions, startRpcServer, until, useServer, type RpcServer } from './helpers.ts';

type Client = Awaited<ReturnType<typeof client>>;

/** make() as a promise that resolves with the error string instead of rejecting. */
function attempt(c: Client, name: string, data?: unknown): Promise<{ ok: unknown } | { error: unknown }> {
  return c.rpc.make(name, data).then(
    (ok: unknown) => ({ ok }),
    (error: unknown) => ({ error }),
  );
}

describe('rpc with the official client', () => {
  const server = useServer();

  it('answers make() in promise and callback form with the provider response', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('add', (data: { a: number; b: number }, response) => response.send(data.a + data.b));
    await providedNames(server(), 1);
    assert.equal(await caller.rpc.make('add', { a: 2, b: 3 }), 5);
    const viaCallback = await new Promise((resolve) => caller.rpc.make('add', { a: 1, b: 1 }, (error, result) => resolve({ error, result })));
    assert.deepEqual(viaCallback, { error: null, result: 2 });
    assert.deepEqual(server().warnings(), []);
    assert.deepEqual([...provider.errors, ...caller.errors], []);
  });

  it('relays every JSON argument and result unchanged, and no argument as undefined', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    const seen: unknown[] = [];
    provider.rpc.provide('echo', (data, response) => {
      seen.push(data);
      response.send(data);
    });
    await providedNames(server(), 1);
    const payloads = ['text', 0, 12.5, true, false, null, [1, 'two', { three: 3 }], { nested: { deep: ['x'] } }, undefined];
    const results = [];
    for (const payload of payloads) results.push(await caller.rpc.make('echo', payload));
    assert.deepEqual(seen, payloads);
    assert.deepEqual(results, payloads);
  });

  it('rejects the call with the value the provider passes to response.error', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('fails', (_data, response) => response.error('out of stock'));
    await providedNames(server(), 1);
    assert.deepEqual(await attempt(caller, 'fails'), { error: 'out of stock' });
  });

  it('fails with NO_RPC_PROVIDER when nobody provides the name', async () => {
    const caller = await client(server().url);
    assert.deepEqual(await attempt(caller, 'nobody-home', 1), { error: 'NO_RPC_PROVIDER' });
    const viaCallback = await new Promise((resolve) => caller.rpc.make('nobody-home', 1, (error) => resolve(error)));
    assert.equal(viaCallback, 'NO_RPC_PROVIDER');
  });

  it('re-routes a rejected call to a provider that has not tried it, then fails with NO_RPC_PROVIDER', async () => {
    const [a, b, caller] = await Promise.all([client(server().url), client(server().url), client(server().url)]);
    const calls: string[] = [];
    let bRejects = true;
    a.rpc.provide('picky', (_data, response) => {
      calls.push('a');
      response.reject();
    });
    b.rpc.provide('picky', (_data, response) => {
      calls.push('b');
      if (bRejects) response.reject();
      else response.send('b did it');
    });
    await providerSessions(server(), 2, 'both provide');
    bRejects = false;
    // Whoever is asked first, the call ends at b: a rejects, b answers.
    assert.deepEqual(await attempt(caller, 'picky'), { ok: 'b did it' });
    assert.ok(calls.includes('b') && calls.filter((c) => c === 'a').length <= 1, calls.join());
    calls.length = 0;
    bRejects = true;
    assert.deepEqual(await attempt(caller, 'picky'), { error: 'NO_RPC_PROVIDER' });
    assert.deepEqual(calls.sort(), ['a', 'b'], 'each provider is asked exactly once');
  });

  it('lets a client provide and call the same RPC', async () => {
    const me = await client(server().url);
    me.rpc.provide('self', (data: string, response) => response.send(`hello ${data}`));
    await providedNames(server(), 1);
    assert.equal(await me.rpc.make('self', 'me'), 'hello me');
  });

  it('stops routing to a client after unprovide', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('temporary', (_data, response) => response.send('here'));
    await providedNames(server(), 1);
    assert.equal(await caller.rpc.make('temporary', null), 'here');
    provider.rpc.unprovide('temporary');
    await providedNames(server(), 0);
    assert.deepEqual(await attempt(caller, 'temporary'), { error: 'NO_RPC_PROVIDER' });
  });

  it('spreads calls evenly over the providers of a name', { skip: clustered && 'a local provider always wins: in a cluster calls spread over the providers on the caller\'s node (README, "Running a cluster")' }, async () => {
    const providers = await Promise.all([client(server().url), client(server().url), client(server().url)]);
    const caller = await client(server().url);
    const counts = [0, 0, 0];
    providers.forEach((p, i) =>
      p.rpc.provide('work', (_data, response) => {
        counts[i]!++;
        response.send(i);
      }),
    );
    await providerSessions(server(), 3, 'three providers');
    await Promise.all(Array.from({ length: 30 }, () => caller.rpc.make('work', null)));
    assert.deepEqual(counts, [10, 10, 10]);
  });

  it('sends no requestor name or data unless configured', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url, 'alice')]);
    const requestors: unknown[] = [];
    provider.rpc.provide('who', (_data, response, requestor?: unknown) => {
      requestors.push(requestor);
      response.send(null);
    });
    await providedNames(server(), 1);
    await caller.rpc.make('who', null);
    assert.deepEqual(requestors, [undefined]);
  });

  it('leaves nothing behind once the clients are gone', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('a', (_data, response) => response.send(1));
    provider.rpc.provide('b', () => undefined); // accepts, never answers
    await providedNames(server(), 2);
    await caller.rpc.make('a', null);
    void attempt(caller, 'b');
    await until(() => server().service.stats.pendingCalls > 0, 'the call to b is pending');
    closeClients();
    await drained(server());
  });
});

describe('rpc timeouts with the official client', () => {
  const server = useServer({ ackTimeout: 100, responseTimeout: 300 });

  it('fails with ACCEPT_TIMEOUT when the provider turns autoAccept off and never accepts', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('slow-to-accept', (_data, response) => {
      response.autoAccept = false;
    });
    await providedNames(server(), 1);
    const started = Date.now();
    assert.deepEqual(await attempt(caller, 'slow-to-accept'), { error: 'ACCEPT_TIMEOUT' });
    assert.ok(Date.now() - started < 300, 'the ack deadline, not the response deadline');
  });

  it('fails with RESPONSE_TIMEOUT when the provider accepts and never answers, and tells a late provider', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    let late: (() => void) | undefined;
    provider.rpc.provide('never', (_data, response) => {
      late = () => response.send('too late');
    });
    await providedNames(server(), 1);
    assert.deepEqual(await attempt(caller, 'never'), { error: 'RESPONSE_TIMEOUT' });
    late?.();
    await until(() => provider.errors.length > 0, 'the provider hears about its late reply');
    assert.deepEqual(provider.errors, ['UNKNOWN_CORRELATION_ID']); // the client's name for INVALID_RPC_CORRELATION_ID
    assert.deepEqual(caller.errors, []);
  });

  it('lets a provider that accepted answer later, within the response deadline', async () => {
    const [provider, caller] = await Promise.all([client(server().url), client(server().url)]);
    provider.rpc.provide('thinks', (_data, response) => {
      response.accept();
      setTimeout(() => response.send('done'), 150); // past the ack deadline, inside the response one
    });
    await providedNames(server(), 1);
    assert.equal(await caller.rpc.make('thinks', null), 'done');
  });
});

describe('rpc when a client disconnects mid-call', () => {
  // Long deadlines: a prompt answer can only come from the disconnect handling.
  const server = useServer({ ackTimeout: 5000, responseTimeout: 10_000 });

  it('moves a call whose provider vanished before accepting to another provider', async () => {
    const [leaver, stayer, caller] = await Promise.all([client(server().url), client(server().url), client(server().url)]);
    let leaverCalls = 0;
    leaver.rpc.provide('handover', (_data, response) => {
      leaverCalls++;
      response.autoAccept = false;
      setImmediate(() => leaver.close());
    });
    await providedNames(server(), 1);
    stayer.rpc.provide('handover', (_data, response) => response.send('stayer'));
    await providerSessions(server(), 2, 'two providers');
    // Round-robin: one of two consecutive calls reaches the leaver first and is handed over.
    const started = Date.now();
    const results = await Promise.all([attempt(caller, 'handover'), attempt(caller, 'handover')]);
    assert.deepEqual(results, [{ ok: 'stayer' }, { ok: 'stayer' }]);
    assert.equal(leaverCalls, 1);
    assert.ok(Date.now() - started < 2000);
  });

  it('fails promptly with NO_RPC_PROVIDER when the only provider vanished before accepting', async () => {
    const [leaver, caller] = await Promise.all([client(server().url), client(server().url)]);
    leaver.rpc.provide('gone', (_data, response) => {
      response.autoAccept = false;
      setImmediate(() => leaver.close());
    });
    await providedNames(server(), 1);
    const started = Date.now();
    assert.deepEqual(await attempt(caller, 'gone'), { error: 'NO_RPC_PROVIDER' });
    assert.ok(Date.now() - started < 2000);
  });

  it('fails promptly with RESPONSE_TIMEOUT, without re-running it elsewhere, when the provider vanished after accepting', async () => {
    const [leaver, other, caller] = await Promise.all([client(server().url), client(server().url), client(server().url)]);
    let otherCalls = 0;
    leaver.rpc.provide('side-effect', (_data, response) => {
      response.accept();
      setTimeout(() => leaver.close(), 20);
    });
    await providedNames(server(), 1);
    const first = attempt(caller, 'side-effect'); // goes to the leaver, the only provider yet
    await until(() => server().service.stats.pendingCalls > 0, 'the call is at the leaver');
    other.rpc.provide('side-effect', (_data, response) => {
      otherCalls++;
      response.send('other');
    });
    const started = Date.now();
    assert.deepEqual(await first, { error: 'RESPONSE_TIMEOUT' });
    assert.ok(Date.now() - started < 2000);
    assert.equal(otherCalls, 0);
  });

  it('drops the reply to a requester that left, without an error to the provider', async () => {
    const [provider, leaver] = await Promise.all([client(server().url), client(server().url)]);
    let answer: (() => void) | undefined;
    provider.rpc.provide('orphan', (_data, response) => {
      answer = () => response.send('nobody listens');
    });
    await providedNames(server(), 1);
    void attempt(leaver, 'orphan');
    await until(() => answer !== undefined, 'the provider has the call');
    leaver.close();
    await until(() => server().service.stats.trackedRequestors === 0, 'the requester is forgotten');
    answer?.();
    await until(() => server().service.stats.pendingCalls === 0, 'the orphaned call is gone');
    await pause(50);
    assert.deepEqual(provider.errors, []);
  });
});

describe('rpc requestor identity', () => {
  const withClientData = clientDataAuth((username) => ({ role: `${username}-role`, n: 1 }));
  let server: RpcServer;
  before(async () => {
    server = await startRpcServer({ provideRequestorName: true, provideRequestorData: true }, [withClientData]);
  });
  afterEach(async () => {
    closeClients();
    await drained(server);
  });
  after(() => server.stop());

  it('passes requestorName and requestorData to the provider, also after a re-route', async () => {
    const [a, b, caller] = await Promise.all([client(server.url, 'a'), client(server.url, 'b'), client(server.url, 'carol')]);
    const seen: unknown[] = [];
    a.rpc.provide('identify', (_data, response, requestor?: unknown) => {
      seen.push(requestor);
      response.reject();
    });
    b.rpc.provide('identify', (_data, response, requestor?: unknown) => {
      seen.push(requestor);
      response.reject();
    });
    await providerSessions(server, 2, 'both provide');
    assert.deepEqual(await attempt(caller, 'identify'), { error: 'NO_RPC_PROVIDER' });
    const expected = { requestorName: 'carol', requestorData: { role: 'carol-role', n: 1 } };
    assert.deepEqual(seen, [expected, expected]);
  });

  it('sends only the name when the requester has no clientData', async () => {
    const [provider, anonymous] = await Promise.all([client(server.url, 'p'), client(server.url)]);
    const seen: unknown[] = [];
    provider.rpc.provide('anon', (_data, response, requestor?: unknown) => {
      seen.push(requestor);
      response.send(null);
    });
    await providedNames(server, 1);
    await anonymous.rpc.make('anon', null);
    assert.deepEqual(seen, [{ requestorName: 'open', requestorData: undefined }]);
  });
});
