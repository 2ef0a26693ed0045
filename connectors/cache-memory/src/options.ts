import { Type, type Static } from '@deepstream-ts/core';

/** A count that may be `Infinity` ("never evict"; from a .ts config). */
const bound = (value: number) => Type.Union([Type.Integer({ minimum: 1 }), Type.Literal(Infinity)], { expected: 'a positive integer or Infinity', default: value });

export const MEMORY_CACHE_OPTIONS = Type.Object({
  /** Most records kept; the least recently used go first. `Infinity` never evicts. */
  maxRecords: bound(100_000),
  /** Most bytes of record JSON kept (approximate: UTF-16 length of the serialised data). */
  maxBytes: bound(256 * 1024 * 1024),
});

export type MemoryCacheOptions = Static<typeof MEMORY_CACHE_OPTIONS>;
