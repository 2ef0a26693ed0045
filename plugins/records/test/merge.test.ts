/**
 * Server-side merge strategies (RECORDS.md "Merge strategies"): stale writes merged by path, last
 * writer wins, a config function; exact replies with raw clients, convergence with the official one.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { RECORD_ACTION, TOPIC, type Message, type RecordData } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';

const R = RECORD_ACTION;
let counter = 0;
const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}-${counter++}`;
const record = (fields: Partial<Message>): Message => ({ topic: TOPIC.RECORD, action: R.UPDATE, ...fields }) as Message;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sums numeric fields of the incoming change onto the latest version: counters that never lose an increment. */
const addCounters = (base: RecordData, latest: RecordData, incoming: RecordData): RecordData | 'reject' => {
  if (Array.isArray(incoming)) return 'reject';
  const merged: Record<string, unknown> = { ...(latest as Record<string, unknown>) };
  for (const [key, value] of Object.entries(incoming)) {
    const before = Number((base as Record<string, unknown>)[key] ?? 0);
    merged[key] = Number(merged[key] ?? 0) + Number(value) - before;
  }
  return merged;
};

describe('merge strategies', () => {
  let server: TestServer;
  const raws: RawClient[] = [];
  const officials: DeepstreamClient[] = [];

  async function raw(): Promise<RawClient> {
    const c = await RawClient.login(server.url);
    c.ws.on('error', () => undefined);
    raws.push(c);
    return c;
  }
  async function official(): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(server.url, { nativeTimerRegistry: true } as never);
    c.on('error', () => undefined);
    officials.push(c);
    await c.login();
    return c;
  }
  async function subscribe(c: RawClient, name: string): Promise<Message> {
    c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' }));
    await c.next((m) => m.isAck === true && m.action === R.SUBSCRIBECREATEANDREAD);
    return c.next((m) => m.action === R.READ_RESPONSE && m.name === name);
  }
  const replyTo = (c: RawClient, id: string) => c.next((m) => m.correlationId === id && (m.action === R.WRITE_ACKNOWLEDGEMENT || m.action === R.VERSION_EXISTS || m.action === R.RECORD_UPDATE_ERROR));

  before(async () => {
    server = await startTestServer({
      plugins: [
        authOpen,
        records.with({
          merge: [
            { names: 'paths/*', strategy: 'paths' },
            { names: 'lww/*', strategy: 'lastWriterWins' },
            { names: 'counter/*', strategy: addCounters },
          ],
          // A client that never waits bases its whole burst on the version it had: the history
          // must reach back that far (6 clients × 25 writes below).
          mergeHistory: 1000,
        }),
      ],
    });
  });
  afterEach(() => {
    for (const c of raws.splice(0)) c.close();
    for (const c of officials.splice(0)) c.close();
  });
  after(() => server.stop());

  describe('paths', () => {
    it('merges stale writes of other paths, and answers VERSION_EXISTS exactly for the overlapping ones', async () => {
      const name = unique('paths');
      const [owner, x, y, z, w, v, u] = await Promise.all([raw(), raw(), raw(), raw(), raw(), raw(), raw()]);
      for (const c of [owner, x, y, z, w, v, u]) await subscribe(c, name);
      owner.send(record({ action: R.UPDATE, name, version: 1, data: '{"a":1,"b":1,"c":{"d":1}}', isWriteAck: true, correlationId: 'o' }));
      assert.equal((await replyTo(owner, 'o')).action, R.WRITE_ACKNOWLEDGEMENT);
      // Everyone has seen version 1. x lands at 2 the ordinary way; the others are based on 1.
      const write = (c: RawClient, id: string, fields: Partial<Message>) => c.send(record({ name, version: 2, isWriteAck: true, correlationId: id, ...fields }));
      write(x, 'x', { action: R.PATCH, path: 'a', data: '2' });
      write(y, 'y', { action: R.PATCH, path: 'b', data: '2' }); // another path: merged at 3
      write(z, 'z', { action: R.PATCH, path: 'a', data: '"z"' }); // x changed a since 1
      write(w, 'w', { action: R.PATCH, path: 'a.deep', data: '"w"' }); // within a
      write(v, 'v', { action: R.UPDATE, data: '{"a":1,"b":1,"c":{"d":1,"e":5}}' }); // adds c.e only: merged at 4
      write(u, 'u', { action: R.UPDATE, data: '{"a":1,"b":"u","c":{"d":1}}' }); // changes b, which y changed
      const replies = await Promise.all([x, y, z, w, v, u].map((c, i) => replyTo(c, 'xyzwvu'[i]!)));
      assert.deepEqual(
        replies.map((m) => R[m.action]),
        ['WRITE_ACKNOWLEDGEMENT', 'WRITE_ACKNOWLEDGEMENT', 'VERSION_EXISTS', 'VERSION_EXISTS', 'WRITE_ACKNOWLEDGEMENT', 'VERSION_EXISTS'],
      );
      const final = { a: 2, b: 2, c: { d: 1, e: 5 } };
      // The refusals carry the latest data to merge with, as VERSION_EXISTS always does.
      assert.equal(replies[2]!.version, 3);
      assert.deepEqual(JSON.parse(replies[5]!.data!), final);

      // A merged writer gets the result whole, before its acknowledgement; the others get its patch.
      const yCopy = await y.next((m) => m.action === R.UPDATE && m.version === 3);
      assert.deepEqual(JSON.parse(yCopy.data!), { a: 2, b: 2, c: { d: 1 } });
      assert.deepEqual(
        { ...(await owner.next((m) => m.version === 3)), names: undefined, versions: undefined },
        { ...record({ action: R.PATCH, name, version: 3, path: 'b', data: '2', isWriteAck: false }), names: undefined, versions: undefined },
      );
      const vCopy = await v.next((m) => m.action === R.UPDATE && m.version === 4);
      assert.deepEqual(JSON.parse(vCopy.data!), final);
      const reader = await raw();
      assert.deepEqual(JSON.parse((await subscribe(reader, name)).data!), final);
      assert.equal((await subscribe(await raw(), name)).version, 4);
    });

    it('lets a writer stream patches of its own path without conflicting with itself', async () => {
      const name = unique('paths');
      const [a, b] = await Promise.all([raw(), raw()]);
      await subscribe(a, name);
      await subscribe(b, name);
      // Both send versions 1..20 from version 0, never waiting: half of them are stale.
      for (let i = 1; i <= 20; i++) {
        a.send(record({ action: R.PATCH, name, version: i, path: 'a', data: String(i), isWriteAck: true, correlationId: `a${i}` }));
        b.send(record({ action: R.PATCH, name, version: i, path: 'b', data: String(i), isWriteAck: true, correlationId: `b${i}` }));
      }
      for (let i = 1; i <= 20; i++) {
        assert.equal((await replyTo(a, `a${i}`)).action, R.WRITE_ACKNOWLEDGEMENT, `a${i}`);
        assert.equal((await replyTo(b, `b${i}`)).action, R.WRITE_ACKNOWLEDGEMENT, `b${i}`);
      }
      const read = await subscribe(await raw(), name);
      assert.deepEqual(JSON.parse(read.data!), { a: 20, b: 20 });
      assert.equal(read.version, 40);
    });

    it('falls back to VERSION_EXISTS when the writer’s base is older than the history', async () => {
      const short = await startTestServer({ plugins: [authOpen, records.with({ merge: [{ names: '*', strategy: 'paths' }], mergeHistory: 3 })] });
      try {
        const [a, b] = [await RawClient.login(short.url), await RawClient.login(short.url)];
        const name = unique('short');
        for (const c of [a, b]) {
          c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' }));
          await c.next((m) => m.action === R.READ_RESPONSE);
        }
        for (let i = 1; i <= 5; i++) a.send(record({ action: R.PATCH, name, version: i, path: `a${i}`, data: '1', isWriteAck: true, correlationId: `a${i}` }));
        for (let i = 1; i <= 5; i++) await a.next((m) => m.correlationId === `a${i}`);
        b.send(record({ action: R.PATCH, name, version: 4, path: 'b', data: '1', isWriteAck: true, correlationId: 'recent' }));
        assert.equal((await b.next((m) => m.correlationId === 'recent')).action, R.WRITE_ACKNOWLEDGEMENT);
        b.send(record({ action: R.PATCH, name, version: 1, path: 'c', data: '1', isWriteAck: true, correlationId: 'old' }));
        const old = await b.next((m) => m.correlationId === 'old');
        assert.equal(old.action, R.VERSION_EXISTS);
        assert.equal(old.version, 6);
        a.close();
        b.close();
      } finally {
        await short.stop();
      }
    });

    it('N official clients writing their own paths as fast as they can: every ack resolves, nothing is lost, all converge', async () => {
      const name = unique('paths');
      const clients = await Promise.all(Array.from({ length: 6 }, () => official()));
      const recs = clients.map((c) => c.record.getRecord(name));
      await Promise.all(recs.map((r) => r.whenReady()));
      const perClient = 25;
      const expected: Record<string, Record<string, number>> = {};
      const acks: Promise<void>[] = [];
      for (let i = 0; i < perClient; i++) {
        for (const [k, r] of recs.entries()) {
          (expected[`w${k}`] ??= {})[`n${i}`] = i;
          acks.push(r.setWithAck(`w${k}.n${i}`, i) as Promise<void>);
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('acks missing')), 15_000)));
      await Promise.race([Promise.all(acks), late]).finally(() => clearTimeout(timer));
      const total = clients.length * perClient;
      const converged = async () => {
        for (let waited = 0; waited < 5000; waited += 50) {
          if (recs.every((r) => r.version === total && JSON.stringify(r.get()) === JSON.stringify(recs[0]!.get()))) return;
          await pause(50);
        }
      };
      await converged();
      for (const [k, r] of recs.entries()) {
        assert.equal(r.version, total, `client ${k} version`);
        assert.deepEqual(r.get(), expected, `client ${k} data`);
      }
    });

    it('official clients writing one shared path and their own: only the stale shared writes are refused', async () => {
      const name = unique('paths');
      const clients = await Promise.all(Array.from({ length: 5 }, () => official()));
      const recs = clients.map((c) => c.record.getRecord(name));
      await Promise.all(recs.map((r) => r.whenReady()));
      // All from version 0 in one go: the first `shared` write lands, every other one overlaps it.
      // (The official client leaves a write refused with VERSION_EXISTS unacknowledged for ever.)
      const settled = (p: Promise<unknown>) => p.then(() => true);
      const own = recs.map((r, k) => settled(r.setWithAck(`own${k}`, k) as Promise<void>));
      const shared = recs.map((r, k) => settled(r.setWithAck('shared', k) as Promise<void>));
      assert.deepEqual(await Promise.all(own), recs.map(() => true), 'every own-path write is acknowledged');
      const sharedAcks = await Promise.all(shared.map((p) => Promise.race([p, pause(500).then(() => false)])));
      assert.equal(sharedAcks.filter(Boolean).length, 1, `one shared write lands: ${JSON.stringify(sharedAcks)}`);
      const stored = JSON.parse((await subscribe(await raw(), name)).data!);
      assert.deepEqual(stored, { own0: 0, own1: 1, own2: 2, own3: 3, own4: 4, shared: sharedAcks.indexOf(true) });
    });
  });

  it('refuses a start with an unknown strategy, naming the option and what it accepts', async () => {
    await assert.rejects(
      startTestServer({ plugins: [authOpen, records.with({ merge: [{ names: 'doc/*', strategy: 'theirs' }] } as never)] }),
      (error: Error) => /merge\[0\]\.strategy/.test(error.message) && /reject, paths, lastWriterWins, or a function/.test(error.message),
    );
  });

  describe('lastWriterWins', () => {
    it('applies a stale write at the next version and tells everyone', async () => {
      const name = unique('lww');
      const [a, b] = await Promise.all([official(), official()]);
      const [ra, rb] = [a.record.getRecord(name), b.record.getRecord(name)];
      await Promise.all([ra.whenReady(), rb.whenReady()]);
      const raws = [await raw(), await raw()];
      for (const c of raws) await subscribe(c, name);
      raws[0]!.send(record({ action: R.UPDATE, name, version: 1, data: '{"x":1,"y":1}', isWriteAck: true, correlationId: '1' }));
      raws[1]!.send(record({ action: R.UPDATE, name, version: 1, data: '{"x":2}', isWriteAck: true, correlationId: '2' }));
      raws[1]!.send(record({ action: R.PATCH, name, version: 1, path: 'z', data: '3', isWriteAck: true, correlationId: '3' }));
      assert.equal((await replyTo(raws[0]!, '1')).action, R.WRITE_ACKNOWLEDGEMENT);
      assert.equal((await replyTo(raws[1]!, '2')).action, R.WRITE_ACKNOWLEDGEMENT);
      assert.equal((await replyTo(raws[1]!, '3')).action, R.WRITE_ACKNOWLEDGEMENT);
      await pause(150);
      for (const r of [ra, rb]) {
        assert.deepEqual(r.get(), { x: 2, z: 3 });
        assert.equal(r.version, 3);
      }
    });
  });

  describe('a merge function', () => {
    it('merges with (base, latest, incoming): concurrent increments all count', async () => {
      const name = unique('counter');
      const clients = await Promise.all(Array.from({ length: 4 }, () => official()));
      const recs = clients.map((c) => c.record.getRecord(name));
      await Promise.all(recs.map((r) => r.whenReady()));
      // Every client adds 1 to `hits` from the version it has: the function turns stale writes into sums.
      await Promise.all(recs.map((r) => r.setWithAck('hits', 1)));
      await pause(200);
      for (const r of recs) assert.deepEqual(r.get(), { hits: 4 });
      assert.ok(recs.every((r) => r.version === 4));
    });

    it('refuses with VERSION_EXISTS when the function says reject, and logs a function that throws', async () => {
      const name = unique('counter');
      const [a, b] = await Promise.all([raw(), raw()]);
      await subscribe(a, name);
      await subscribe(b, name);
      a.send(record({ action: R.UPDATE, name, version: 1, data: '{"n":1}', isWriteAck: true, correlationId: 'a' }));
      b.send(record({ action: R.UPDATE, name, version: 1, data: '[1]', isWriteAck: true, correlationId: 'b' }));
      assert.equal((await replyTo(a, 'a')).action, R.WRITE_ACKNOWLEDGEMENT);
      const refused = await replyTo(b, 'b');
      assert.equal(refused.action, R.VERSION_EXISTS);
      assert.deepEqual(JSON.parse(refused.data!), { n: 1 });
    });
  });
});
