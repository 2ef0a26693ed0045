import { Type, type Static } from '@deepstream-ts/core';

export const MONGODB_STORAGE_OPTIONS = Type.Object({
  /** `mongodb://user:password@host:port/` */
  url: Type.String({ minLength: 1, default: process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017' }),
  database: Type.String({ minLength: 1, default: 'deepstream' }),
  /** Collection name, or the prefix of the collection names when `collectionPerPrefix` is set. */
  collection: Type.String({ minLength: 1, default: 'records' }),
  /** One collection per record-name prefix (the part before the first `/`). */
  collectionPerPrefix: Type.Boolean({ default: false }),
  /** Milliseconds to find a server before an operation fails. */
  serverSelectionTimeout: Type.Number({ exclusiveMinimum: 0, default: 5000 }),
});

export type MongodbStorageOptions = Static<typeof MONGODB_STORAGE_OPTIONS>;
