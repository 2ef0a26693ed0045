/**
 * What read-your-writes costs a presence query (EVENTS_RPC_PRESENCE §3.6):
 * the same QUERY load against a node alone and against a node with two peers over a real Redis,
 * where every query waits for one bus barrier (shared by the queries of one turn).
 *
 *   npx tsx --conditions=source plugins/presence/bench/query-cost.ts [--rounds 2000] [--clients 20] [--window 10]
 *
 * Prints the sequential round trip (one query in flight) and the throughput with `clients`
 * connections keeping `window` queries each in flight. All nodes run in this process: the peers'
 * pong work is on the same event loop, so the figures include it. It asserts nothing.
 */
import { parseArgs } from 'node:util';
import { PRESENCE_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import clusterRedis from '@deepstream-ts/cluster-redis';
import { isSkip, startRedis } from '../../../test/services/real-servers.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2000' }, clients: { type: 'string', default: '20' }, window: { type: 'string', default: '10' } } });
const ROUNDS = Number(values.rounds);
const CLIENTS = Number(values.clients);
const WINDOW = Number(values.window);
const NAMES = ['u0', 'u1', 'u2', 'nobody'];

let ids = 0;
function query(c: RawClient): Promise<Message> {
  const correlationId = String(ids++);
  c.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId, names: NAMES });
  return c.next((m) => m.correlationId === correlationId, 10_000);
}

async function measure(label: string, node: TestServer): Promise<void> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => RawClient.login(node.url, { username: `bench-${label}-${i}` })));
  const [first] = clients as [RawClient];
  for (let i = 0; i < 200; i++) await query(first); // warm-up
  let started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await query(first);
  const sequentialUs = Number(process.hrtime.bigint() - started) / 1000 / ROUNDS;
  const perClient = Math.ceil(ROUNDS * 5 / CLIENTS);
  started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c) => {
      let sent = 0;
      const lane = async () => {
        while (sent < perClient) {
          sent++;
          await query(c);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = perClient * CLIENTS;
  console.log(`${label.padEnd(16)} sequential ${sequentialUs.toFixed(0).padStart(6)} µs/query   loaded ${(total / seconds).toFixed(0).padStart(7)} queries/s (${CLIENTS} clients × ${WINDOW} in flight, ${total} queries, ${((seconds * 1e6) / total).toFixed(1)} µs/query)`);
  for (const c of clients) c.close();
}

const redis = await startRedis();
if (isSkip(redis)) {
  console.error(redis.skip);
  process.exit(1);
}
const prefix = `presence-bench-${process.pid}:`;
const cluster = clusterRedis.with({ url: redis.url, channelPrefix: prefix, keepAliveInterval: 1000, nodeTimeout: 5000 });
try {
  const alone = await startTestServer({ serverName: 'alone', plugins: [authOpen, presence] });
  await measure('alone', alone);
  await alone.stop();
  const nodes: TestServer[] = [];
  for (const name of ['n1', 'n2', 'n3']) nodes.push(await startTestServer({ serverName: name, plugins: [authOpen, presence, cluster] }));
  while (!nodes.every((n) => n.kernel.service('cluster')!.peers.size === 2)) await new Promise((resolve) => setTimeout(resolve, 20));
  const users = await Promise.all(['u0', 'u1'].map((u, i) => RawClient.login(nodes[i + 1]!.url, { username: u })));
  await measure('with 2 peers', nodes[0]!);
  for (const u of users) u.close();
  for (const n of nodes) await n.stop();
} finally {
  await redis.stop();
}
