import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectorError } from '@deepstream-ts/core';
import { RedisCache } from '../src/redis-cache.ts';
import type { RedisCacheOptions } from '../src/options.ts';
import { cacheContract } from '../../../test/contracts/cache.ts';
import { isSkip, startRedis, type RedisServer } from '../../../test/services/real-servers.ts';

const server = await startRedis();
const skip = isSkip(server) ? server.skip : false;
const redis = server as RedisServer;
const options = (overrides: Partial<RedisCacheOptions> = {}): RedisCacheOptions => ({
  mode: 'standalone',
  url: redis.url,
  sentinels: [],
  sentinelName: 'mymaster',
  nodes: [],
  keyPrefix: `test${process.pid}:`,
  ttl: 0,
  connectTimeout: 2000,
  ...overrides,
});

describe('redis cache', { skip }, () => {
  after(() => redis.stop());

  cacheContract('redis', async () => {
    const store = new RedisCache(options());
    await store.connect();
    return { store };
  });

  it('hash-tags both keys of a record so that they share one cluster slot', async () => {
    const cache = new RedisCache(options({ keyPrefix: 'tag:' }));
    await cache.connect();
    await cache.set('user/1', { version: 1, data: { a: 1 } });
    const raw = (cache as unknown as { redis: { keys(p: string): Promise<string[]> } }).redis;
    assert.deepEqual((await raw.keys('tag:*')).sort(), ['tag:{user/1}:d', 'tag:{user/1}:v']);
    await cache.close();
  });

  it('expires records after the TTL when one is set', async () => {
    const cache = new RedisCache(options({ ttl: 1, keyPrefix: 'ttl:' }));
    await cache.connect();
    await cache.set('short/lived', { version: 0, data: {} });
    assert.equal(await cache.head('short/lived'), 0);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(await cache.head('short/lived'), undefined);
    await cache.close();
  });

  it('refuses to start with a message naming the server without its password', async () => {
    const cache = new RedisCache(options({ url: 'redis://:hunter2@127.0.0.1:1', connectTimeout: 500 }));
    await assert.rejects(cache.connect(), (error: Error) => {
      assert.ok(error instanceof ConnectorError);
      assert.match(error.message, /redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });

  it('fails fast during an outage and recovers when Redis is back, without a restart', async () => {
    const cache = new RedisCache(options({ keyPrefix: 'outage:' }));
    await cache.connect();
    try {
      await cache.set('o/1', { version: 1, data: {} });
      redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await assert.rejects(cache.get('o/1'), (error) => error instanceof ConnectorError && error.kind === 'unavailable');
      assert.ok(Date.now() - started < 1000, 'no hang while Redis is down');
      assert.ok(cache.lastError !== undefined);
      await redis.restart();
      let value;
      for (let i = 0; i < 60 && value === undefined; i++) {
        try {
          await cache.set('o/2', { version: 2, data: { back: true } });
          value = await cache.get('o/2');
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.deepEqual(value, { version: 2, data: { back: true } });
      assert.equal(cache.lastError, undefined);
    } finally {
      await cache.close();
    }
  });
});
