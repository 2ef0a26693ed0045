/**
 * Record writes under attack (hardening issue, items 1, 3, 4 and 9): deep JSON, rules judged on
 * stale state, path amplification, acknowledged writes that would create a record without `create`.
 * Each attack runs against a real server over real sockets while a healthy client's round trip is
 * timed; the attacker gets an error naming the limit, and nothing it should not write is stored.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { closeClients, client, raw, setData, startValveServer, type TestClient, type ValveServer } from '../plugins/permissions-valve/test/helpers.ts';

let counter = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}-${counter++}`;

/** `levels` arrays nested in each other: 10 KB of text for 5,000 levels. */
const nestedText = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const nested = (levels: number): unknown => JSON.parse(nestedText(levels));

/** A healthy client's acknowledged write, timed: what a user notices while someone attacks. */
async function roundTrip(healthy: TestClient): Promise<number> {
  const started = performance.now();
  await setData(healthy, unique('healthy/'), { ok: true });
  return performance.now() - started;
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => 'acknowledged',
    (error: unknown) => String(error),
  );

describe('record writes under attack', () => {
  let server: ValveServer;
  let healthy: TestClient;

  before(async () => {
    server = await startValveServer({
      permissions: {
        record: {
          '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true },
          'increase/*': { create: true, read: true, write: 'oldData === null || data.value > oldData.value' },
          'budget/*': { create: true, read: true, write: 'data.a + data.b <= 100' },
          'denied/*': { create: true, read: true, write: 'data.x === 1' },
          'nocreate/*': { create: false, read: true, write: true, delete: true },
        },
        event: { '*': { publish: true, subscribe: true, listen: true } },
        rpc: { '*': { provide: true, request: true } },
        presence: { '*': { allow: true } },
      },
    });
  });
  beforeEach(async () => {
    healthy = await client(server.url, 'healthy');
  });
  afterEach(() => closeClients());
  after(() => server.stop());

  describe('deep JSON (item 1)', () => {
    it('a write nested 5,000 levels deep is refused naming maxDataDepth; the server stays up', async () => {
      const attacker = await client(server.url, 'attacker');
      const name = unique('deep/');
      // The official client itself cannot serialise 5,000 levels; 500 is as far as it goes here.
      const outcome = rejection(setData(attacker, name, nested(500)));
      assert.ok((await roundTrip(healthy)) < 500, 'the healthy client is served meanwhile');
      assert.equal(await outcome, 'INVALID_MESSAGE_DATA');
      assert.equal(await server.stored(name), undefined);
      // 5,000 levels on the wire; the reply names the limit (the official client shows only the action).
      const wire = await raw(server.url, 'attacker-raw');
      wire.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDUPDATE, name, version: -1, data: nestedText(5_000) });
      const reply = await wire.next((m) => m.topic === TOPIC.RECORD);
      assert.equal(reply.action, RECORD_ACTION.INVALID_MESSAGE_DATA);
      assert.match(JSON.parse(reply.data!), /maxDataDepth \(100\)/);
    });

    it('a deep patch value counts its path too', async () => {
      const attacker = await client(server.url, 'attacker');
      const name = unique('deep/');
      await setData(attacker, name, { shallow: 1 });
      assert.equal(await rejection(setData(attacker, name, 'a.b.c', nested(98))), 'INVALID_MESSAGE_DATA');
      assert.equal(await rejection(setData(attacker, name, 'a.b', nested(98))), 'acknowledged', 'exactly at the limit is fine');
      assert.ok((await roundTrip(healthy)) < 500);
    });
  });

  describe('rules judge the state the write is applied on (item 3)', () => {
    it('data.value > oldData.value: 10 then 6 sent back to back ends at 10, every time', async () => {
      const writer = await client(server.url, 'writer');
      for (let trial = 0; trial < 10; trial++) {
        const name = unique('increase/');
        await setData(writer, name, { value: 1 });
        const [first, second] = await Promise.all([rejection(setData(writer, name, { value: 10 })), rejection(setData(writer, name, { value: 6 }))]);
        assert.deepEqual([first, second], ['acknowledged', 'MESSAGE_DENIED'], `trial ${trial}`);
        assert.deepEqual((await server.stored(name))?.data, { value: 10 }, `trial ${trial}`);
      }
    });

    it('two patches each within data.a + data.b <= 100 cannot store {a: 100, b: 100}', async () => {
      const [one, two] = await Promise.all([client(server.url, 'one'), client(server.url, 'two')]);
      for (let trial = 0; trial < 5; trial++) {
        const name = unique('budget/');
        await setData(one, name, { a: 0, b: 0 });
        const outcomes = await Promise.all([rejection(setData(one, name, 'a', 100)), rejection(setData(two, name, 'b', 100))]);
        assert.deepEqual(outcomes.sort(), ['MESSAGE_DENIED', 'acknowledged'], `trial ${trial}`);
        const { a, b } = (await server.stored(name))!.data as { a: number; b: number };
        assert.ok(a + b <= 100, `trial ${trial}: stored a=${a} b=${b}`);
      }
    });
  });

  describe('path amplification (item 4)', () => {
    it('127 indices of 100,000 in one 1 KB path are refused at once, naming the limit', async () => {
      const attacker = await raw(server.url, 'attacker');
      const name = unique('amplify/');
      const paths = ['[100000]'.repeat(127), '[60000][60000]', `a${'.b'.repeat(40)}`];
      const limits = [/maxPathDepth \(32\)/, /maxArrayGrowth \(100000\)/, /maxPathDepth \(32\)/];
      const started = performance.now();
      for (const [i, path] of paths.entries()) {
        attacker.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDPATCH, name, version: -1, path, data: '1', isWriteAck: true, correlationId: `c${i}` });
        const reply = await attacker.next((m: Message) => m.correlationId === `c${i}`);
        assert.equal(reply.action, RECORD_ACTION.INVALID_MESSAGE_DATA);
        assert.match(JSON.parse(reply.data!), limits[i]!);
      }
      assert.ok(performance.now() - started < 500, 'refused before anything is applied');
      assert.ok((await roundTrip(healthy)) < 500);
      assert.equal(await server.stored(name), undefined);
    });

    it('a large patch a rule denies costs no more than the rule', async () => {
      const attacker = await client(server.url, 'attacker');
      const name = unique('denied/');
      const started = performance.now();
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => rejection(setData(attacker, name, `list[99999].n${i}`, 1))));
      assert.deepEqual(new Set(outcomes), new Set(['MESSAGE_DENIED']));
      assert.ok(performance.now() - started < 2000, `20 denied patches took ${Math.round(performance.now() - started)} ms`);
      assert.ok((await roundTrip(healthy)) < 500);
    });
  });

  describe('writes that would create a record without create (item 9)', () => {
    for (const [label, write] of [
      ['UPDATE', { action: RECORD_ACTION.UPDATE, version: 1, data: '{"x":1}' }],
      ['PATCH', { action: RECORD_ACTION.PATCH, version: 1, path: 'x', data: '1' }],
      ['ERASE', { action: RECORD_ACTION.ERASE, version: 1, path: 'x' }],
    ] as const) {
      it(`${label} with a write acknowledgement on a missing record is checked against create`, async () => {
        const attacker = await raw(server.url, 'attacker');
        const name = unique('nocreate/');
        attacker.send({ topic: TOPIC.RECORD, name, isWriteAck: true, correlationId: 'w', ...write });
        const reply = await attacker.next((m) => m.correlationId === 'w');
        assert.equal(reply.action, RECORD_ACTION.MESSAGE_DENIED);
        assert.equal(await server.stored(name), undefined, 'nothing was created');
      });
    }
  });
});
