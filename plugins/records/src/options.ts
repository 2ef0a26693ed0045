import { Type, type Static } from '@deepstream-ts/core';
import type { MergeFunction } from './merge.ts';

const prefixes = () => Type.Array(Type.String(), { default: [] });

export const RECORDS_OPTIONS = Type.Object({
  /** Milliseconds a cache read may take before CACHE_RETRIEVAL_TIMEOUT. */
  cacheRetrievalTimeout: Type.Number({ exclusiveMinimum: 0, default: 1000 }),
  /** Milliseconds a storage read may take before STORAGE_RETRIEVAL_TIMEOUT. */
  storageRetrievalTimeout: Type.Number({ exclusiveMinimum: 0, default: 2000 }),
  /** Milliseconds a cache or storage write or delete may take before it counts as failed. */
  storageWriteTimeout: Type.Number({ exclusiveMinimum: 0, default: 5000 }),
  /** Record names starting with these live in the cache only. */
  storageExclusionPrefixes: prefixes(),
  /** CREATEANDUPDATE on names starting with these skips versioning (write-mostly data). */
  storageHotPathPrefixes: prefixes(),
  /** Longest record name accepted. */
  maxNameLength: Type.Integer({ minimum: 1, default: 1024 }),
  /** Longest record path accepted, in characters. */
  maxPathLength: Type.Integer({ minimum: 1, default: 1024 }),
  /** Largest array index a path may use. */
  maxPathIndex: Type.Integer({ minimum: 0, default: 100_000 }),
  /** Most parts a path may have. */
  maxPathDepth: Type.Integer({ minimum: 1, default: 32 }),
  /** Most array elements one patch may create (the sum of its path's indices + 1). */
  maxArrayGrowth: Type.Integer({ minimum: 1, default: 100_000 }),
  /** Deepest nesting of objects and arrays a write may bring (a patch: its path's depth plus its value's). */
  maxDataDepth: Type.Integer({ minimum: 1, default: 100 }),
  /**
   * How a stale write (its version is not the record's next one) is resolved, per record name
   * pattern (`*` matches anything); the first match wins, no match means `reject`.
   */
  merge: Type.Array(
    Type.Object({
      names: Type.String({ minLength: 1, expected: 'a record name pattern (* matches any characters)' }),
      strategy: Type.Union(
        [
          Type.Literal('reject'),
          Type.Literal('paths'),
          Type.Literal('lastWriterWins'),
          Type.Unsafe<MergeFunction>(Type.Function([Type.Unknown(), Type.Unknown(), Type.Unknown()], Type.Unknown())),
        ],
        { expected: 'one of reject, paths, lastWriterWins, or a function (base, latest, incoming) => merged | "reject"' },
      ),
    }),
    { default: [] },
  ),
  /** Versions per record kept to merge by (`paths` and functions); a write based on an older one is refused. */
  mergeHistory: Type.Integer({ minimum: 1, default: 256 }),
  /** Records whose merge history is kept at once (least recently written forgotten first). */
  mergeHistoryRecords: Type.Integer({ minimum: 1, default: 1000 }),
});

export type RecordsOptions = Static<typeof RECORDS_OPTIONS>;

