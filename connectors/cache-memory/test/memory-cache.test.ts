import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../src/memory-cache.ts';
import { cacheContract } from '../../../test/contracts/cache.ts';

cacheContract('memory', async () => ({ store: new MemoryCache({ maxRecords: Infinity, maxBytes: Infinity }) }));

describe('memory cache bounds', () => {
  it('evicts the least recently used record past maxRecords', async () => {
    const cache = new MemoryCache({ maxRecords: 2, maxBytes: Infinity });
    await cache.set('a', { version: 0, data: {} });
    await cache.set('b', { version: 0, data: {} });
    await cache.get('a'); // a is now more recent than b
    await cache.set('c', { version: 0, data: {} });
    assert.equal(await cache.head('b'), undefined);
    assert.equal(await cache.head('a'), 0);
    assert.equal(await cache.head('c'), 0);
  });

  it('evicts past maxBytes, and keeps byte accounting right across overwrites and deletes', async () => {
    const cache = new MemoryCache({ maxRecords: Infinity, maxBytes: 1000 });
    await cache.set('big', { version: 0, data: { s: 'x'.repeat(600) } });
    await cache.set('big', { version: 1, data: { s: 'x'.repeat(600) } });
    assert.equal(cache.size.records, 1);
    await cache.set('other', { version: 0, data: { s: 'y'.repeat(600) } });
    assert.equal(await cache.head('big'), undefined);
    assert.equal(cache.size.records, 1);
    await cache.delete('other');
    assert.deepEqual(cache.size, { records: 0, bytes: 0 });
  });
});
