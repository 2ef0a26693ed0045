/** The transport through a real Sentinel (one master and one sentinel started here). */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisTransport } from '../src/index.ts';
import { clusterTransportContract } from '../../../test/contracts/cluster-transport.ts';
import { isSkip, startRedisSentinel, type RedisSentinelServer } from '../../../test/services/real-servers.ts';
import { uniquePrefix, until } from './helpers.ts';

const server = await startRedisSentinel();
const skip = isSkip(server) ? server.skip : false;
const sentinel = server as RedisSentinelServer;
const transport = (channelPrefix: string) => new RedisTransport({ sentinels: sentinel.sentinels, name: sentinel.name, channelPrefix });

describe('redis cluster transport through Sentinel', { skip }, () => {
  after(() => sentinel.stop());

  clusterTransportContract('redis sentinel', () => {
    const channelPrefix = uniquePrefix();
    return { transport: () => transport(channelPrefix) };
  });

  it('finds the master again through the sentinel after it restarts, with its keys and channels subscribed again', async () => {
    const channelPrefix = uniquePrefix();
    const [a, b] = [transport(channelPrefix), transport(channelPrefix)];
    const got: string[] = [];
    try {
      assert.match(a.description, new RegExp(`^redis-sentinel:${sentinel.name}@127\\.0\\.0\\.1:\\d+$`));
      await a.start('a', () => undefined);
      await b.start('b', (bytes) => void got.push(Buffer.from(bytes).toString()));
      await b.subscribeKeys(['k']);
      sentinel.master.kill();
      await sentinel.master.restart();
      // Frames sent while b's connection is down are lost (pub/sub keeps nothing): send until one arrives.
      const giveUp = Date.now() + 10_000;
      while (!got.includes('keyed') && Date.now() < giveUp) {
        a.publishKey('k', Buffer.from('keyed'));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(got.includes('keyed'), 'the keyed subscription came back');
      a.publish(Buffer.from('broadcast'));
      a.publishTo('b', Buffer.from('direct'));
      await until(() => got.includes('broadcast') && got.includes('direct'), 'the bus channels came back');
      await b.subscribeKeys(['later']);
      a.publishKey('later', Buffer.from('later'));
      await until(() => got.includes('later'), 'a new subscription works');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('follows a failover: with the master gone for good, both sides move to the promoted replica', async () => {
    const failover = await startRedisSentinel('dsfailover', { replica: true });
    assert.ok(!isSkip(failover));
    const channelPrefix = uniquePrefix();
    const through = () => new RedisTransport({ sentinels: failover.sentinels, name: failover.name, channelPrefix });
    const [a, b] = [through(), through()];
    const got: string[] = [];
    try {
      await a.start('a', () => undefined);
      await b.start('b', (bytes) => void got.push(Buffer.from(bytes).toString()));
      await b.subscribeKeys(['k']);
      failover.master.kill(); // not restarted: only the failover brings the bus back
      // The sentinel waits 1 s before it calls the master down, then promotes the replica; frames
      // sent meanwhile are lost (pub/sub keeps nothing): send until they arrive.
      const giveUp = Date.now() + 30_000;
      const back = () => got.includes('keyed') && got.includes('broadcast') && got.includes('direct');
      while (!back() && Date.now() < giveUp) {
        a.publishKey('k', Buffer.from('keyed'));
        a.publish(Buffer.from('broadcast'));
        a.publishTo('b', Buffer.from('direct'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await failover.masterPort(), failover.replicaPort, 'the sentinel promoted the replica');
      assert.ok(back(), `keyed, broadcast and direct frames reach b through the new master (got ${[...new Set(got)].join(', ') || 'nothing'})`);
      await b.subscribeKeys(['later']);
      a.publishKey('later', Buffer.from('later'));
      await until(() => got.includes('later'), 'a new subscription works on the new master');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await failover.stop();
    }
  });
});
