/**
 * A rule judges exactly the state a write will be stored on (SECURITY §3.5): with several writes to
 * one record in flight from the official client, each is judged against the record as the writes
 * queued before it leave it, and a denied write leaves no trace for the ones behind it.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, closeClients, setData, startValveServer, until, type ValveServer } from './helpers.ts';

const RULES = {
  record: {
    '*': { create: true, read: true, write: true, delete: true },
    // Only ever one up, never above 10: a rule that must see the writes queued before it.
    'counter/*': { write: 'oldData === null || (data.count === oldData.count + 1 && data.count <= 10)' },
  },
  event: { '*': { publish: true, subscribe: true } },
  rpc: { '*': { provide: true, request: true } },
  presence: { '*': { allow: true } },
};

const outcome = (results: PromiseSettledResult<unknown>[]) => results.map((r) => (r.status === 'fulfilled' ? 'ok' : String(r.reason)));

describe('writes in flight to one record', { timeout: 20_000 }, () => {
  let server: ValveServer;
  before(async () => {
    server = await startValveServer({ permissions: RULES });
  });
  afterEach(async () => {
    closeClients();
    await until(() => server.kernel.sessions.size === 0, 'every client is gone');
  });
  after(() => server.stop());

  it('each write is judged on top of the one queued before it', async () => {
    const c = await client(server.url, 'writer');
    const name = `counter/${Date.now()}`;
    await setData(c, name, { count: 0 });
    // Sent back to back: none is stored when the next arrives.
    const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 5];
    const results = await Promise.allSettled(counts.map((count) => setData(c, name, 'count', count)));
    assert.deepEqual(outcome(results), [...Array(10).fill('ok'), 'MESSAGE_DENIED', 'MESSAGE_DENIED']);
    assert.deepEqual((await server.stored(name))?.data, { count: 10 });
  });

  it('a denied write in the middle is released: the next one is judged as if it never came', async () => {
    const c = await client(server.url, 'writer');
    const name = `counter/released-${Date.now()}`;
    await setData(c, name, { count: 0 });
    const results = await Promise.allSettled([1, 2, 7, 3].map((count) => setData(c, name, 'count', count)));
    assert.deepEqual(outcome(results), ['ok', 'ok', 'MESSAGE_DENIED', 'ok']);
    assert.deepEqual((await server.stored(name))?.data, { count: 3 });
  });
});
