/**
 * The clustered topology for `startTestServer` (DS_TEST_TOPOLOGY, see core/README "Testing"):
 * one suite's config becomes three in-process nodes over a real Redis, sharing the record cache
 * (Redis) and storage, behind a round-robin TCP balancer, so that consecutive connections of a
 * test land on different nodes. `kernel` is the first node; `nodes` has all three.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeepstreamConfig, KernelOptions, PluginEntry, PluginManifest } from '@deepstream-ts/core';
import { startTestNode, type LogLine, type TestServer, until } from '@deepstream-ts/core/testing';
import cacheRedis from '@deepstream-ts/cache-redis';
import clusterRedis from '@deepstream-ts/cluster-redis';
import { isSkip, startRedis, type RedisServer } from '../services/real-servers.ts';
import { TcpBalancer } from './tcp-balancer.ts';

export const NODES = 3;
/** Fast membership, as in test/fixtures/configs/cluster.config.ts: a stopped node is gone within a second. */
const TIMING = { keepAliveInterval: 200, nodeTimeout: 1000 };

// One Redis per test process, started with the first cluster and stopped with the last (a running
// child process would keep the test process alive).
let redis: Promise<RedisServer> | undefined;
let clusters = 0;
async function acquireRedis(): Promise<RedisServer> {
  clusters++;
  redis ??= startRedis().then((server) => {
    if (isSkip(server)) throw new Error(`the clustered topology needs Redis: ${server.skip}`);
    return server;
  });
  return redis;
}
async function releaseRedis(): Promise<void> {
  if (--clusters > 0 || redis === undefined) return;
  const stopping = redis;
  redis = undefined;
  await (await stopping).stop();
}

let started = 0;

function manifestOf(entry: PluginEntry): { manifest?: PluginManifest<object>; options?: object } {
  if (typeof entry === 'string') return {};
  if (Array.isArray(entry)) return typeof entry[0] === 'string' ? {} : { manifest: entry[0] as PluginManifest<object>, options: entry[1] as object | undefined };
  if ('use' in entry) return typeof entry.use === 'string' ? {} : { manifest: entry.use as PluginManifest<object>, options: entry.options as object | undefined };
  return { manifest: entry as PluginManifest<object> };
}

const provides = (entries: readonly PluginEntry[], service: string) =>
  entries.some((entry) => (manifestOf(entry).manifest?.provides as readonly string[] | undefined)?.includes(service) === true);

export async function startServer(config: DeepstreamConfig, options: KernelOptions): Promise<TestServer> {
  const entries = config.plugins ?? [];
  // A suite that builds its own cluster (cluster-memory, ...) gets the single node it asked for.
  if (provides(entries, 'clusterTransport')) return startTestNode(config, options);

  const id = `t${process.pid}-${started++}`;
  const server = await acquireRedis();
  let dir: string | undefined;
  try {
    const plugins = entries.map((entry): PluginEntry => {
      const { manifest, options: pluginOptions } = manifestOf(entry);
      // Each node would open its own in-memory database: share one file instead.
      if (manifest?.name === '@deepstream-ts/storage-sqlite' && (pluginOptions as { file?: string } | undefined)?.file === ':memory:') {
        dir ??= mkdtempSync(join(process.env.DS_TEST_SERVICES_DIR ?? tmpdir(), 'ds-cluster-sqlite-'));
        return { use: manifest, options: { ...pluginOptions, file: join(dir, 'records.sqlite') } };
      }
      return entry;
    });
    // Records must be the same on every node: without a cache of the suite's own, share one in Redis.
    if (provides(entries, 'records') && !provides(entries, 'cache')) plugins.push(cacheRedis.with({ url: server.url, keyPrefix: `${id}:` }));
    plugins.push(clusterRedis.with({ url: server.url, channelPrefix: `${id}:`, ...TIMING }));

    // The nodes' log lines in one list, as one server's would be.
    const logs: LogLine[] = [];
    const names = Array.from({ length: NODES }, (_, i) => (config.serverName === undefined ? `${id}-${i}` : i === 0 ? config.serverName : `${config.serverName}-${i}`));
    const settled = await Promise.allSettled(names.map((serverName) => startTestNode({ ...config, serverName, plugins }, options)));
    const nodes = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw failed.reason;
    }
    // Each node keeps its own lines too, and the topology's list sees all of them, in order.
    for (const node of nodes) {
      const own = node.logs;
      logs.push(...own);
      own.push = (...lines: LogLine[]) => (logs.push(...lines), Array.prototype.push.apply(own, lines));
    }
    await until(() => nodes.every((node) => node.kernel.service('cluster')!.peers.size === NODES - 1), 'every node knows its peers').catch(async (error: unknown) => {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    });

    const balancer = new TcpBalancer(
      nodes.map((node) => node.port),
      { roundRobin: true },
    );
    await balancer.listen();
    const first = nodes[0]!;
    return {
      kernel: first.kernel,
      port: balancer.port,
      url: `ws://127.0.0.1:${balancer.port}${first.kernel.config.connection.path}`,
      logs,
      warnings: () => logs.filter((line) => line.level >= 40),
      nodes,
      async stop() {
        // The nodes first: a stopping node still answers what is in flight through the balancer.
        await Promise.all(nodes.map((node) => node.stop()));
        await balancer.stop();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        await releaseRedis();
      },
    };
  } catch (error) {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    await releaseRedis();
    throw error;
  }
}
