/**
 * The stores behind bench/connectors.ts: throwaway PostgreSQL and Redis servers (started with
 * test/services/real-servers.ts, files in a directory the benchmark owns), and read-back checks
 * of the record versions the storage (and the Redis cache) hold after a run.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';

export type ExternalService = { url: string; stop(): Promise<void> };
export type Services = { postgres: ExternalService; redis: ExternalService } | { skip: string };

/**
 * Starts PostgreSQL and Redis side by side, their files under `dir` (real-servers.ts reads
 * DS_TEST_SERVICES_DIR when it is first imported, so this must run before anything else imports
 * it). Any failure becomes a skip reason, and whichever server did start is stopped again.
 */
export async function startServices(dir: string): Promise<Services> {
  process.env.DS_TEST_SERVICES_DIR = dir;
  const { isSkip, startPostgres, startRedis } = await import('../../test/services/real-servers.ts');
  const outcomes = await Promise.allSettled([startPostgres(), startRedis()]);
  const reasons = outcomes.flatMap((o, i) => {
    const what = i === 0 ? 'PostgreSQL' : 'Redis';
    if (o.status === 'rejected') return [`${what}: ${o.reason instanceof Error ? o.reason.message : String(o.reason)}`];
    return isSkip(o.value) ? [`${what}: ${o.value.skip}`] : [];
  });
  const started = outcomes.flatMap((o) => (o.status === 'fulfilled' && !isSkip(o.value) ? [o.value as ExternalService] : []));
  if (reasons.length === 0) return { postgres: started[0] as ExternalService, redis: started[1] as ExternalService };
  await Promise.allSettled(started.map((s) => s.stop()));
  return { skip: reasons.join('; ') };
}

/** name → version in the SQLite storage file (read-only, beside the server's connection). */
export function sqliteVersions(file: string, names: readonly string[]): Map<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const select = db.prepare<[string], { version: number }>('SELECT version FROM records WHERE name = ?');
    return new Map(names.flatMap((name): Array<[string, number]> => { const row = select.get(name); return row === undefined ? [] : [[name, row.version]]; }));
  } finally {
    db.close();
  }
}

/** name → version in the PostgreSQL storage table. */
export async function postgresVersions(url: string, table: string, names: readonly string[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const result = await client.query<{ name: string; version: number }>(`SELECT name, version FROM "${table}" WHERE name = ANY($1::text[])`, [names]);
    return new Map(result.rows.map((row) => [row.name, row.version]));
  } finally {
    await client.end();
  }
}

/** name → version in the Redis cache (key layout of connectors/cache-redis: `<prefix>{name}:v`). */
export async function redisVersions(url: string, keyPrefix: string, names: readonly string[]): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  await redis.connect();
  try {
    const values = names.length === 0 ? [] : await redis.mget(...names.map((name) => `${keyPrefix}{${name}}:v`));
    return new Map(values.flatMap((value, i): Array<[string, number]> => (value === null ? [] : [[names[i] as string, Number(value)]])));
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
