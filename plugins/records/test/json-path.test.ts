import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePath, setPath } from '../src/json-path.ts';

const limits = { maxPathLength: 200, maxPathIndex: 1000, maxPathDepth: 32, maxArrayGrowth: 1500 };
const tokens = (path: string) => {
  const result = parsePath(path, limits);
  assert.ok(Array.isArray(result), `expected tokens for ${path}, got ${String(result)}`);
  return result;
};
const set = (root: object, path: string, value: unknown) => JSON.parse(JSON.stringify(setPath(root as never, tokens(path), value)));

describe('record paths', () => {
  it('tokenises keys, bracket indexes, spaces and empty parts like the client', () => {
    assert.deepEqual(tokens('a.b[2].c'), ['a', 'b', 2, 'c']);
    assert.deepEqual(tokens(' a . 2 '), ['a', '2']);
    assert.deepEqual(tokens('m[1][2]'), ['m', 1, 2]);
    assert.deepEqual(tokens('a..b'), ['a', 'b']);
  });

  it('sets, creates missing containers, and fills array holes with null', () => {
    assert.deepEqual(set({ a: 1 }, 'b.c', 2), { a: 1, b: { c: 2 } });
    assert.deepEqual(set({ list: [] }, 'list[2].name', 'n'), { list: [null, null, { name: 'n' }] });
    assert.deepEqual(set({}, 'm[1][0]', true), { m: [null, [true]] });
    assert.deepEqual(set({ a: 5 }, 'a.b', 1), { a: { b: 1 } }, 'a scalar on the way is replaced');
    assert.deepEqual(set({ a: 1 }, 'a', null), { a: null }, 'null is a value');
  });

  it('deletes the final key when the value is undefined', () => {
    assert.deepEqual(set({ a: { b: 1, c: 2 } }, 'a.b', undefined), { a: { c: 2 } });
    assert.deepEqual(set({ l: ['x', 'y'] }, 'l[0]', undefined), { l: [null, 'y'] });
  });

  it('never mutates the original', () => {
    const original = { a: { b: [1, 2] }, other: { untouched: true } };
    const snapshot = JSON.stringify(original);
    const next = setPath(original, tokens('a.b[1]'), 3) as typeof original;
    assert.equal(JSON.stringify(original), snapshot);
    assert.equal(next.other, original.other, 'containers off the path are shared');
  });

  it('refuses prototype segments, absurd indexes, non-numeric indexes, empty and overlong paths', () => {
    for (const path of ['__proto__.polluted', 'a.constructor.prototype', 'a[99999999]', 'a[x]', ' . ', 'x'.repeat(201)]) {
      assert.equal(typeof parsePath(path, limits), 'string', path);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
