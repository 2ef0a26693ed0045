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

/**
 * The same for many records at once, in order (KEYS: version and data key per record; ARGV: the
 * TTL, then expected version, version and data per record): one command for a turn's writes.
 * Only where every key lives on one server (standalone, sentinel), not in a cluster.
 */
const COMPARE_AND_SET_MANY = `
local ttl = tonumber(ARGV[1])
local results = {}
for i = 1, #KEYS / 2 do
  local vkey, dkey = KEYS[2 * i - 1], KEYS[2 * i]
  local current = redis.call('GET', vkey)
  if current and current ~= ARGV[3 * i - 1] then
    results[i] = 0
  else
    if ttl > 0 then
      redis.call('SET', vkey, ARGV[3 * i], 'EX', ttl)
      redis.call('SET', dkey, ARGV[3 * i + 1], 'EX', ttl)
    else
      redis.call('SET', vkey, ARGV[3 * i])
      redis.call('SET', dkey, ARGV[3 * i + 1])
    end
    results[i] = 1
  end
end
return results`;
const CAS_MANY_COMMAND = 'dsCompareAndSetMany';
/** Most records in one COMPARE_AND_SET_MANY call; a bigger turn is split. */
const CAS_BATCH_LIMIT = 256;

type CompareAndSetCommands = Record<typeof CAS_COMMAND, (...args: string[]) => Promise<number>> & Record<typeof CAS_MANY_COMMAND, (...args: (string | number)[]) => Promise<number[]>>;

interface PendingCas {
  name: string;
  args: [expected: string, version: string, data: string];
  resolve(won: boolean): void;
  reject(error: unknown): void;
}

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
  /** Compare-and-sets of this turn, sent together at its end (not in cluster mode). */
  private casBatch: PendingCas[] = [];
  private readonly batchCas: boolean;
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
    this.redis.defineCommand(CAS_MANY_COMMAND, { lua: COMPARE_AND_SET_MANY });
    this.batchCas = options.mode !== 'cluster';
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
    const expected = expectedVersion === undefined ? '' : String(expectedVersion);
    if (this.batchCas) {
      if (this.redis.status === 'end') throw new ConnectorError('unavailable', `${this.description} compareAndSet "${name}"`, 'the cache is closed');
      return new Promise<boolean>((resolve, reject) => {
        if (this.casBatch.length === 0) setImmediate(this.flushCas);
        this.casBatch.push({ name, args: [expected, String(record.version), JSON.stringify(record.data)], resolve, reject });
      });
    }
    const result = await this.run('compareAndSet', name, () =>
      (this.redis as unknown as CompareAndSetCommands)[CAS_COMMAND](this.versionKey(name), this.dataKey(name), expectedVersion === undefined ? '' : String(expectedVersion), String(record.version), JSON.stringify(record.data), String(this.options.ttl)),
    );
    return result === 1;
  }

  /** Sends the turn's compare-and-sets, in order, as few script calls; each caller learns its own outcome. */
  private readonly flushCas = (): void => {
    const batch = this.casBatch;
    this.casBatch = [];
    for (let from = 0; from < batch.length; from += CAS_BATCH_LIMIT) {
      const part = batch.slice(from, from + CAS_BATCH_LIMIT);
      const keys: string[] = [];
      const args: string[] = [String(this.options.ttl)];
      for (const { name, args: own } of part) {
        keys.push(this.versionKey(name), this.dataKey(name));
        args.push(...own);
      }
      const what = part.length === 1 ? (part[0] as PendingCas).name : `${part.length} names`;
      this.run('compareAndSet', what, () => (this.redis as unknown as CompareAndSetCommands)[CAS_MANY_COMMAND](keys.length, ...keys, ...args)).then(
        (results) => part.forEach((cas, i) => cas.resolve(results[i] === 1)),
        (error: unknown) => part.forEach((cas) => cas.reject(error)),
      );
    }
  };

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
