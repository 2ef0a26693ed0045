/**
 * The contract every RecordCache keeps: the storage contract plus version look-ups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordCache } from '@deepstream-ts/core';
import { fresh, storageContract, type ContractSubject, type Factory } from './storage.ts';

export function cacheContract(label: string, factory: Factory<RecordCache>): void {
  storageContract(label, factory);

  describe(`cache contract: ${label}`, () => {
    let subject: ContractSubject<RecordCache>;
    let cache: RecordCache;
    before(async () => {
      subject = await factory();
      cache = subject.store;
    });
    after(async () => {
      await cache.close();
      await subject.cleanup?.();
    });

    it('heads a cached record and misses an absent one', async () => {
      const name = fresh();
      await cache.set(name, { version: 5, data: { x: 1 } });
      assert.equal(await cache.head(name), 5);
      assert.equal(await cache.head(fresh()), undefined);
    });

    it('heads in bulk, leaving out what it does not hold', async () => {
      const [a, b, missing] = [fresh(), fresh(), fresh()];
      await cache.set(a, { version: 0, data: {} });
      await cache.set(b, { version: 9, data: [] });
      assert.deepEqual(await cache.headBulk([a, b, missing]), new Map([[a, 0], [b, 9]]));
      assert.deepEqual(await cache.headBulk([]), new Map());
    });

    it('compares and sets atomically: only the write that expected the current version lands', async () => {
      const name = fresh();
      assert.equal(await cache.compareAndSet(name, { version: 0, data: { first: true } }, undefined), true);
      assert.equal(await cache.compareAndSet(name, { version: 0, data: { second: true } }, undefined), false, 'it exists now');
      const racers = await Promise.all([
        cache.compareAndSet(name, { version: 1, data: { by: 'a' } }, 0),
        cache.compareAndSet(name, { version: 1, data: { by: 'b' } }, 0),
      ]);
      assert.deepEqual(racers.filter(Boolean).length, 1, 'exactly one of two writers expecting version 0 wins');
      const winner = racers[0] ? 'a' : 'b';
      assert.deepEqual(await cache.get(name), { version: 1, data: { by: winner } });
      assert.equal(await cache.compareAndSet(name, { version: 3, data: {} }, 5), false);
      assert.equal(await cache.compareAndSet(fresh(), { version: 9, data: {} }, 8), true, 'an uncached record matches: storage decides');
    });

    it('forgets a deleted record for head too', async () => {
      const name = fresh();
      await cache.set(name, { version: 1, data: {} });
      await cache.delete(name);
      assert.equal(await cache.head(name), undefined);
    });
  });
}
