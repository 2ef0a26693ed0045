import { Type, type Static } from '@deepstream-ts/core';

export const POSTGRES_STORAGE_OPTIONS = Type.Object({
  /** `postgres://user:password@host:port/database` */
  url: Type.String({ minLength: 1, default: process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' }),
  /** Table name, or the prefix of the table names when `tablePerPrefix` is set. */
  table: Type.String({ minLength: 1, default: 'ds_records' }),
  /** One table per record-name prefix (the part before the first `/`), e.g. `ds_records_user`. */
  tablePerPrefix: Type.Boolean({ default: false }),
  /** Most pooled connections. */
  poolSize: Type.Integer({ minimum: 1, default: 10 }),
  /** Attempts for a write that fails with a connection error, with backoff in between. */
  writeAttempts: Type.Integer({ minimum: 1, default: 3 }),
});

export type PostgresStorageOptions = Static<typeof POSTGRES_STORAGE_OPTIONS>;
