/**
 * The Redis behind bench/cluster.ts: a throwaway redis-server (test/services/real-servers.ts),
 * its process id (for its CPU time), and what it was asked to do (INFO commandstats).
 */
import { Redis } from 'ioredis';
import { processTable } from './cpu.ts';
import { isSkip, startRedis } from '../../test/services/real-servers.ts';

export interface BenchRedis {
  url: string;
  /** The redis-server process; undefined if it could not be found (its CPU then reads n/a). */
  pid: number | undefined;
  /** Calls per command since the server started, e.g. {publish: 1200, eval: 300}. */
  commandCalls(): Promise<Map<string, number>>;
  /** Connections subscribed to a pub/sub channel: the nodes of a cluster. */
  channelSubscribers(channel: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server of our own, or returns why it cannot. REDIS_URL is ignored on purpose: the
 * figures need a Redis that serves nothing else and whose process we can see.
 */
export async function startBenchRedis(): Promise<BenchRedis | { skip: string }> {
  delete process.env.REDIS_URL;
  const server = await startRedis();
  if (isSkip(server)) return server;
  const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return {
    url: server.url,
    pid: childRedisPid(),
    commandCalls: async () => parseCommandStats(await client.info('commandstats')),
    channelSubscribers: async (channel) => {
      const reply = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      return Number(reply[1]);
    },
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

/** The redis-server that startRedis spawned: a child of this process. */
function childRedisPid(): number | undefined {
  for (const [pid, { comm, ppid }] of processTable()) if (comm === 'redis-server' && ppid === process.pid) return pid;
  return undefined;
}

/** `cmdstat_publish:calls=12,usec=…` lines → publish → 12. */
function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] as string, Number(match[2]));
  return calls;
}

/** Calls per command between two commandCalls() readings, only those that changed. */
export function callsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, count] of after) {
    const grown = count - (before.get(command) ?? 0);
    if (grown > 0) delta.set(command, grown);
  }
  return delta;
}
