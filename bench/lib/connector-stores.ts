/**
 * The stores behind bench/connectors.ts: throwaway PostgreSQL and Redis servers (started with
 * test/services/real-servers.ts, files in a directory the benchmark owns), and read-back checks
 * of the record versions the storage (and the Redis cache) hold after a run.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface ExternalService {
  url: string;
  stop(): Promise<void>;
}

export type Services = { postgres: ExternalService; redis: ExternalService } | { skip: string };

/**
 * Starts PostgreSQL and Redis side by side, their files under `dir` (real-servers.ts reads
 * DS_TEST_SERVICES_DIR when it is first imported, so this must run before anything else imports
 * it). Any failure becomes a skip reason, and whichever server did start is stopped again.
 */
export async function startServices(dir: string): Promise<Services> {
  process.env.DS_TEST_SERVICES_DIR = dir;
  const { isSkip, startPostgres, startRedis } = await import('../../test/services/real-servers.ts');
  const [postgres, redis] = await Promise.allSettled([startPostgres(), startRedis()]);
  const reasons: string[] = [];
  const started: ExternalService[] = [];
  const take = (what: string, outcome: PromiseSettledResult<ExternalService | { skip: string }>): ExternalService | undefined => {
    if (outcome.status === 'rejected') {
      reasons.push(`${what}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`);
      return undefined;
    }
    if (isSkip(outcome.value)) {
      reasons.push(`${what}: ${outcome.value.skip}`);
      return undefined;
    }
    started.push(outcome.value);
    return outcome.value;
  };
  const pgServer = take('PostgreSQL', postgres);
  const redisServer = take('Redis', redis);
  if (pgServer === undefined || redisServer === undefined) {
    await Promise.allSettled(started.map((s) => s.stop()));
    return { skip: reasons.join('; ') };
  }
  return { postgres: pgServer, redis: redisServer };
}

/** name → version in the SQLite storage file (read-only, beside the server's connection). */
export function sqliteVersions(file: string, names: readonly string[]): Map<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const select = db.prepare<[string], { version: number }>('SELECT version FROM records WHERE name = ?');
    const versions = new Map<string, number>();
    for (const name of names) {
      const row = select.get(name);
      if (row !== undefined) versions.set(name, row.version);
    }
    return versions;
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
    const versions = new Map<string, number>();
    values.forEach((value, i) => {
      if (value !== null) versions.set(names[i] as string, Number(value));
    });
    return versions;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
