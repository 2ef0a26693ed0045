export interface RecordsOptions {
  /** Milliseconds a cache read may take before CACHE_RETRIEVAL_TIMEOUT. */
  cacheRetrievalTimeout: number;
  /** Milliseconds a storage read may take before STORAGE_RETRIEVAL_TIMEOUT. */
  storageRetrievalTimeout: number;
  /** Milliseconds a cache or storage write or delete may take before it counts as failed. */
  storageWriteTimeout: number;
  /** Record names starting with these live in the cache only. */
  storageExclusionPrefixes: string[];
  /** CREATEANDUPDATE on names starting with these skips versioning (write-mostly data). */
  storageHotPathPrefixes: string[];
  /** Longest record name accepted. */
  maxNameLength: number;
  /** Longest record path accepted, in characters. */
  maxPathLength: number;
  /** Largest array index a path may use. */
  maxPathIndex: number;
  /** Most parts a path may have. */
  maxPathDepth: number;
  /** Most array elements one patch may create (the sum of its path's indices + 1). */
  maxArrayGrowth: number;
  /** Deepest nesting of objects and arrays a write may bring (a patch: its path's depth plus its value's). */
  maxDataDepth: number;
}

export const DEFAULT_RECORDS_OPTIONS: RecordsOptions = {
  cacheRetrievalTimeout: 1000,
  storageRetrievalTimeout: 2000,
  storageWriteTimeout: 5000,
  storageExclusionPrefixes: [],
  storageHotPathPrefixes: [],
  maxNameLength: 1024,
  maxPathLength: 1024,
  maxPathIndex: 100_000,
  maxPathDepth: 32,
  maxArrayGrowth: 100_000,
  maxDataDepth: 100,
};
