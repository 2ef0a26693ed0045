import { Type, type Static } from '@deepstream-ts/core';

export const SQLITE_STORAGE_OPTIONS = Type.Object({
  /** Database file, relative to the config file's directory; created with its directory when missing. `:memory:` for a throwaway store. */
  file: Type.String({ minLength: 1, default: './data/records.sqlite' }),
});

export type SqliteStorageOptions = Static<typeof SQLITE_STORAGE_OPTIONS>;
