import { Redis, Cluster, type RedisOptions, type ClusterNode } from 'ioredis';
import { ConnectorError, type RecordCache, type StoredRecord, redactUrl } from '@deepstream-ts/core';
import type { RedisCacheOptions } from './options.ts';

/**
 * Atomic version check and write of both keys (one slot: they share the hash tag). A missing
 * version key matches any expectation: the record is not cached, storage decides.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
end
return 1`;
const CAS_COMMAND = 'dsCompareAndSet';
type CompareAndSetCommand = Record<typeof CAS_COMMAND, (...args: string[]) => Promise<number>>;

/**
 * Records in Redis: two keys per record, version and JSON data, sharing the hash tag `{name}` so
 * that both live in one slot and are written atomically even in Redis Cluster. Commands fail at
 * once while disconnected (no offline queue), so an outage becomes client errors instead of a
 * hang, and ioredis reconnects with backoff in the background.
 */
export class RedisCache implements RecordCache {
  readonly description: string;
  readonly capabilities: { durable: boolean; shared: boolean } = { durable: false, shared: true };
  private readonly redis: Redis | Cluster;
  /** Last connection problem, for health checks; cleared on reconnect. */
  lastError: string | undefined;

  constructor(private readonly options: RedisCacheOptions) {
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Commands issued in one event-loop turn (the records plugin's compare-and-sets for many
      // records) go out as one socket write and come back in one read.
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    };
    if (options.mode === 'cluster') {
      this.description = `redis-cluster:${options.nodes.map((n) => (typeof n === 'object' ? `${n.host}:${n.port}` : String(n))).join(',')}`;
      this.redis = new Cluster(options.nodes, { lazyConnect: true, enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: common, clusterRetryStrategy: common.retryStrategy });
    } else if (options.mode === 'sentinel') {
      this.description = `redis-sentinel:${options.sentinelName}@${options.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
      this.redis = new Redis({ ...common, sentinels: options.sentinels, name: options.sentinelName });
    } else {
      this.description = `redis:${redactUrl(options.url)}`;
      this.redis = new Redis(options.url, common);
    }
    // EVALSHA of the cached script instead of sending its text with every write.
    this.redis.defineCommand(CAS_COMMAND, { numberOfKeys: 2, lua: COMPARE_AND_SET });
    this.redis.on('error', (error: Error) => (this.lastError = error.message));
    this.redis.on('close', () => (this.lastError ??= 'connection to Redis lost'));
    this.redis.on('ready', () => (this.lastError = undefined));
  }

  /** Connects, failing with a message that names the server (never its password). */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis.connect(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no connection within ${this.options.connectTimeout} ms`)), this.options.connectTimeout))),
      ]);
    } catch (error) {
      this.redis.disconnect();
      throw new ConnectorError('unavailable', `${this.description} connect`, (error as Error).message, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async get(name: string): Promise<StoredRecord | undefined> {
    const [version, data] = await this.run('get', name, () => this.redis.mget(this.versionKey(name), this.dataKey(name)));
    if (version == null || data == null) return undefined;
    return { version: Number(version), data: JSON.parse(data) as StoredRecord['data'] };
  }

  async head(name: string): Promise<number | undefined> {
    const version = await this.run('head', name, () => this.redis.get(this.versionKey(name)));
    return version === null ? undefined : Number(version);
  }

  async headBulk(names: readonly string[]): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    if (names.length === 0) return versions;
    // One pipeline; each GET is single-key, so the cluster client routes each to its slot.
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.get(this.versionKey(name));
    const results = await this.run('headBulk', `${names.length} names`, () => pipeline.exec());
    results?.forEach(([error, value], i) => {
      if (error === null && value !== null) versions.set(names[i]!, Number(value));
    });
    return versions;
  }

  async set(name: string, record: StoredRecord): Promise<void> {
    const { ttl } = this.options;
    const data = JSON.stringify(record.data);
    await this.run('set', name, () => {
      const multi = this.redis.multi();
      if (ttl > 0) {
        multi.set(this.versionKey(name), record.version, 'EX', ttl);
        multi.set(this.dataKey(name), data, 'EX', ttl);
      } else {
        multi.set(this.versionKey(name), record.version);
        multi.set(this.dataKey(name), data);
      }
      return multi.exec();
    });
  }

  async compareAndSet(name: string, record: StoredRecord, expectedVersion: number | undefined): Promise<boolean> {
    const result = await this.run('compareAndSet', name, () =>
      (this.redis as unknown as CompareAndSetCommand)[CAS_COMMAND](this.versionKey(name), this.dataKey(name), expectedVersion === undefined ? '' : String(expectedVersion), String(record.version), JSON.stringify(record.data), String(this.options.ttl)),
    );
    return result === 1;
  }

  async delete(name: string): Promise<void> {
    await this.run('delete', name, () => this.redis.del(this.versionKey(name), this.dataKey(name)));
  }

  async deleteBulk(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.del(this.versionKey(name), this.dataKey(name));
    const results = await this.run('deleteBulk', `${names.length} names`, () => pipeline.exec());
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw new ConnectorError('failed', `${this.description} deleteBulk`, String(failed[0]));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private versionKey(name: string): string {
    return `${this.options.keyPrefix}{${name}}:v`;
  }

  private dataKey(name: string): string {
    return `${this.options.keyPrefix}{${name}}:d`;
  }

  private async run<T>(operation: string, name: string, command: () => Promise<T>): Promise<T> {
    if (this.redis.status === 'end') throw new ConnectorError('unavailable', `${this.description} ${operation} "${name}"`, 'the cache is closed');
    try {
      return await command();
    } catch (error) {
      const message = (error as Error).message;
      const unavailable = this.redis.status !== 'ready' || /Connection|connect|closed|offline|ECONN/i.test(message);
      throw new ConnectorError(unavailable ? 'unavailable' : 'failed', `${this.description} ${operation} "${name}"`, message, { cause: error });
    }
  }
}
