/**
 * The contract every RecordStorage implementation keeps. A connector's test file calls
 * `storageContract('sqlite', factory)`; the same suite runs against every implementation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectorError, type RecordStorage } from '@deepstream-ts/core';

export interface ContractSubject<T> {
  store: T;
  /** Release what the factory made (files, servers); `store.close()` is called by the suite. */
  cleanup?(): Promise<void>;
}

export type Factory<T> = () => Promise<ContractSubject<T>>;

let counter = 0;
/** A fresh name per test, so that suites may share one store. */
export const fresh = (prefix = 'contract') => `${prefix}/${process.pid}-${Date.now().toString(36)}-${counter++}`;

export function storageContract(label: string, factory: Factory<RecordStorage>): void {
  describe(`storage contract: ${label}`, () => {
    let subject: ContractSubject<RecordStorage>;
    let store: RecordStorage;
    before(async () => {
      subject = await factory();
      store = subject.store;
    });
    after(async () => {
      await store.close();
      await subject.cleanup?.();
    });

    it('describes itself and its capabilities', () => {
      assert.equal(typeof store.description, 'string');
      assert.equal(typeof store.capabilities.durable, 'boolean');
      assert.equal(typeof store.capabilities.shared, 'boolean');
    });

    it('returns undefined for a missing record', async () => {
      assert.equal(await store.get(fresh()), undefined);
    });

    it('round-trips data and version, objects and arrays', async () => {
      const object = fresh();
      const list = fresh();
      await store.set(object, { version: 3, data: { a: 1, nested: { b: [true, null, 'x'] } } });
      await store.set(list, { version: 0, data: ['one', 'two'] });
      assert.deepEqual(await store.get(object), { version: 3, data: { a: 1, nested: { b: [true, null, 'x'] } } });
      assert.deepEqual(await store.get(list), { version: 0, data: ['one', 'two'] });
    });

    it('overwrites, keeping only the latest version', async () => {
      const name = fresh();
      await store.set(name, { version: 1, data: { v: 1 } });
      await store.set(name, { version: 2, data: { v: 2 } });
      assert.deepEqual(await store.get(name), { version: 2, data: { v: 2 } });
    });

    it('lands writes to one record in call order, even when not awaited one by one', async () => {
      const name = fresh();
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(name, { version: i, data: { i } })));
      assert.deepEqual(await store.get(name), { version: 49, data: { i: 49 } });
    });

    it('deletes, and deleting a missing record succeeds', async () => {
      const name = fresh();
      await store.set(name, { version: 0, data: {} });
      await store.delete(name);
      assert.equal(await store.get(name), undefined);
      await store.delete(fresh());
    });

    it('deletes in bulk', async () => {
      const names = [fresh(), fresh(), fresh()];
      for (const name of names) await store.set(name, { version: 0, data: { name } });
      await store.deleteBulk(names.slice(0, 2));
      assert.equal(await store.get(names[0]!), undefined);
      assert.equal(await store.get(names[1]!), undefined);
      assert.deepEqual(await store.get(names[2]!), { version: 0, data: { name: names[2] } });
    });

    it('keeps names with slashes, unicode and great length apart', async () => {
      const base = fresh();
      const names = [`${base}/a/b/c`, `${base}/ünïcødé/日本/🙂`, `${base}/${'long-'.repeat(200)}`, `${base}/a/b`, `${base} with spaces`];
      for (const [i, name] of names.entries()) await store.set(name, { version: i, data: { i } });
      for (const [i, name] of names.entries()) assert.deepEqual(await store.get(name), { version: i, data: { i } });
    });

    it('stores a 1 MB document intact', async () => {
      const name = fresh();
      const data = { blob: 'x'.repeat(1024 * 1024), unicode: 'ø'.repeat(1000), list: Array.from({ length: 1000 }, (_, i) => i) };
      await store.set(name, { version: 7, data });
      assert.deepEqual(await store.get(name), { version: 7, data });
    });

    it('handles concurrent writes to different records independently', async () => {
      const names = Array.from({ length: 100 }, () => fresh());
      await Promise.all(names.map((name, i) => store.set(name, { version: i, data: { i } })));
      const read = await Promise.all(names.map((name) => store.get(name)));
      assert.deepEqual(read, names.map((_, i) => ({ version: i, data: { i } })));
    });
  });

  describe(`storage contract: ${label}, after close`, () => {
    it('rejects with a ConnectorError instead of hanging', async () => {
      const subject = await factory();
      await subject.store.close();
      try {
        const attempt = Promise.allSettled([subject.store.get(fresh()), subject.store.set(fresh(), { version: 0, data: {} })]);
        const results = await Promise.race([attempt, new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 2000))]);
        assert.notEqual(results, 'hang', 'operations on a closed connector must settle');
        for (const result of results as PromiseSettledResult<unknown>[]) {
          if (result.status === 'rejected') assert.ok(result.reason instanceof ConnectorError, `expected a ConnectorError, got ${String(result.reason)}`);
        }
        assert.ok((results as PromiseSettledResult<unknown>[]).some((r) => r.status === 'rejected'), 'a write to a closed connector must fail');
      } finally {
        await subject.cleanup?.();
      }
    });
  });
}

/** For storages shared between nodes: writes of different nodes may arrive out of order. */
export function versionOrderContract(label: string, factory: Factory<RecordStorage>): void {
  describe(`storage version order: ${label}`, () => {
    it('never lets an older version replace a newer one, but a delete and recreate starts afresh', async () => {
      const { store, cleanup } = await factory();
      try {
        const name = fresh();
        await store.set(name, { version: 6, data: { by: 'node b' } });
        await store.set(name, { version: 5, data: { by: 'node a, late' } });
        assert.deepEqual(await store.get(name), { version: 6, data: { by: 'node b' } });
        await store.delete(name);
        await store.set(name, { version: 0, data: {} });
        assert.deepEqual(await store.get(name), { version: 0, data: {} });
      } finally {
        await store.close();
        await cleanup?.();
      }
    });
  });
}
