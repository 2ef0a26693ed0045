import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisTransport } from '../src/index.ts';
import { clusterTransportContract } from '../../../test/contracts/cluster-transport.ts';
import { isSkip, startRedis, type RedisServer } from '../../../test/services/real-servers.ts';
import { uniquePrefix, until } from './helpers.ts';

const server = await startRedis();
const skip = isSkip(server) ? server.skip : false;
const redis = server as RedisServer;

describe('redis cluster transport', { skip }, () => {
  after(() => redis.stop());

  clusterTransportContract('redis', () => {
    const channelPrefix = uniquePrefix();
    return { transport: () => new RedisTransport({ url: redis.url, channelPrefix }) };
  });

  it("on one Redis server keeps one sender's frames in order across broadcast, direct and keyed channels", async () => {
    const channelPrefix = uniquePrefix();
    const [a, b] = [new RedisTransport({ url: redis.url, channelPrefix }), new RedisTransport({ url: redis.url, channelPrefix })];
    const got: string[] = [];
    try {
      await a.start('a', () => undefined);
      await b.start('b', (bytes) => void got.push(Buffer.from(bytes).toString()));
      await b.subscribeKeys(['k1', 'k2']);
      const sent: string[] = [];
      for (let i = 0; i < 300; i++) {
        const frame = `frame ${i}`;
        sent.push(frame);
        if (i % 4 === 0) a.publish(Buffer.from(frame));
        else if (i % 4 === 1) a.publishTo('b', Buffer.from(frame));
        else a.publishKey(i % 4 === 2 ? 'k1' : 'k2', Buffer.from(frame));
      }
      await until(() => got.length === sent.length, 'b received all');
      assert.deepEqual(got, sent);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
