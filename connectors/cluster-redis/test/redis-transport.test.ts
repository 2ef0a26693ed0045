import { after, describe } from 'node:test';
import { RedisTransport } from '../src/index.ts';
import { clusterTransportContract } from '../../../test/contracts/cluster-transport.ts';
import { isSkip, startRedis, type RedisServer } from '../../../test/services/real-servers.ts';

const server = await startRedis();
const skip = isSkip(server) ? server.skip : false;
const redis = server as RedisServer;
let media = 0;

describe('redis cluster transport', { skip }, () => {
  after(() => redis.stop());

  // A channel prefix per medium: the tests share one server and must not hear each other.
  clusterTransportContract('redis', () => {
    const channelPrefix = `test${process.pid}:${media++}:`;
    return { transport: () => new RedisTransport({ url: redis.url, channelPrefix }) };
  });
});
