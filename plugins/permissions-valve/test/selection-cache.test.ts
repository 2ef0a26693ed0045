/** The rule-selection cache is bounded by the size of its keys, not only their count (names come from clients). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CACHED_KEY_LENGTH, MAX_GENERATION_KEY_CHARS, SelectionCache } from '../src/rules/selection-cache.ts';

describe('selection cache bounds', () => {
  it('never caches keys over MAX_CACHED_KEY_LENGTH', () => {
    const cache = new SelectionCache(60_000, 100_000);
    cache.set('x'.repeat(MAX_CACHED_KEY_LENGTH + 1), null);
    assert.equal(cache.get('x'.repeat(MAX_CACHED_KEY_LENGTH + 1)), undefined);
    cache.set('short', null);
    assert.equal(cache.get('short'), null);
    cache.close();
  });

  it('holds at most two generations of MAX_GENERATION_KEY_CHARS, whatever the count bound says', () => {
    const cache = new SelectionCache(60_000, 100_000);
    for (let i = 0; i < 20_000; i++) cache.set(`${i}`.padEnd(MAX_CACHED_KEY_LENGTH, '.'), null);
    const { entries, keyChars } = cache.size;
    assert.ok(keyChars <= 2 * MAX_GENERATION_KEY_CHARS, `${keyChars} key characters held`);
    assert.ok(entries < 20_000, 'older entries were swept');
    assert.equal(cache.get(`${19_999}`.padEnd(MAX_CACHED_KEY_LENGTH, '.')), null, 'the newest survive');
    cache.close();
  });
});
