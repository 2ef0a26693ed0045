/**
 * Three server processes clustered over a real Redis, with official clients spread over them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeepstreamClient } from '@deepstream/client';
import { RECORD_ACTION, TOPIC } from '@deepstream-ts/core';
import { RawClient } from '@deepstream-ts/core/testing';
import { freePort, isSkip, startRedis, type RedisServer } from './services/real-servers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;

interface Node {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
}

async function startNode(name: string, redisUrl: string): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', 'test/fixtures/configs/cluster.config.ts', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, DS_TEST_REDIS_URL: redisUrl, DS_TEST_NODE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 20_000);
    child.stdout!.on('data', () => output.includes('deepstream-ts is ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
  return { name, url: `ws://127.0.0.1:${port}/deepstream`, child, output: () => output };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a three-node cluster over Redis', { skip }, () => {
  const redis = redisServer as RedisServer;
  let nodes: Node[] = [];
  const clients: DeepstreamClient[] = [];
  async function client(node: Node, username?: string): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(node.url);
    clients.push(c);
    await c.login(username ? { username } : {});
    return c;
  }

  before(async () => {
    nodes = await Promise.all(['a', 'b', 'c'].map((name) => startNode(name, redis.url)));
    await pause(500); // heartbeats: every node learns the others
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const node of nodes) node.child.kill('SIGKILL');
    await redis.stop();
  });

  it('delivers an event emitted on one node to subscribers on the others, once, never back to the sender', async () => {
    const [onA, onB, emitterOnC] = await Promise.all([client(nodes[0]!), client(nodes[1]!), client(nodes[2]!)]);
    const got: string[] = [];
    onA.event.subscribe('news', (data) => got.push(`a:${String(data)}`));
    onB.event.subscribe('news', (data) => got.push(`b:${String(data)}`));
    let echoed = 0;
    emitterOnC.event.subscribe('news', () => echoed++);
    await pause(300);
    emitterOnC.event.emit('news', 'x');
    await pause(300);
    assert.deepEqual(got.sort(), ['a:x', 'b:x']);
    assert.equal(echoed, 1, 'the emitter sees its own event once, locally');
  });

  it('syncs record updates and deletes across nodes, with the right versions', async () => {
    const [onA, onB, onC] = await Promise.all([client(nodes[0]!), client(nodes[1]!), client(nodes[2]!)]);
    const [ra, rb, rc] = [onA.record.getRecord('shared/doc'), onB.record.getRecord('shared/doc'), onC.record.getRecord('shared/doc')];
    await Promise.all([ra.whenReady(), rb.whenReady(), rc.whenReady()]);
    await ra.setWithAck({ from: 'a' });
    await pause(200);
    await rb.setWithAck('by', 'b' as never);
    await pause(300);
    for (const r of [ra, rb, rc]) {
      assert.deepEqual(r.get(), { from: 'a', by: 'b' });
      assert.equal(r.version, 2);
    }
    const deletedOnC = new Promise<void>((resolve) => rc.on('delete', () => resolve()));
    await ra.delete();
    await deletedOnC;
  });

  it('detects version conflicts cluster-wide: two writers on different nodes, same version, one wins', async () => {
    const [onA, onB] = await Promise.all([RawClient.login(nodes[0]!.url), RawClient.login(nodes[1]!.url)]);
    try {
      for (const c of [onA, onB]) {
        c.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: ['shared/contended'], correlationId: '1' });
        await c.next((m) => m.action === RECORD_ACTION.READ_RESPONSE);
      }
      for (const [i, c] of [onA, onB].entries()) {
        c.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name: 'shared/contended', version: 1, data: JSON.stringify({ writer: i }), isWriteAck: true, correlationId: 'w' });
      }
      const replies = await Promise.all([onA, onB].map((c) => c.next((m) => m.correlationId === 'w', 3000)));
      const actions = replies.map((m) => m.action).sort();
      assert.deepEqual(actions, [RECORD_ACTION.WRITE_ACKNOWLEDGEMENT, RECORD_ACTION.VERSION_EXISTS].sort());
      const loser = replies.find((m) => m.action === RECORD_ACTION.VERSION_EXISTS)!;
      assert.equal(loser.version, 1, 'the loser learns the version that won');
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('knows who is online on every node, and a user with connections on two nodes leaves only when both are gone', async () => {
    const [alice, bob, bobAgain] = await Promise.all([client(nodes[0]!, 'alice'), client(nodes[1]!, 'bob'), client(nodes[2]!, 'bob')]);
    await pause(300);
    const online = await alice.presence.getAll(); // earlier tests' anonymous clients are online as 'open'
    assert.ok(online.includes('bob') && !online.includes('alice'), online.join(', '));
    const left: string[] = [];
    alice.presence.subscribe((user: string, online: boolean) => !online && left.push(user));
    await pause(300);
    bob.close();
    await pause(300);
    assert.deepEqual(left, [], 'bob is still online on node c');
    assert.deepEqual(await alice.presence.getAll(['bob']), { bob: true });
    bobAgain.close();
    await pause(300);
    assert.deepEqual(left, ['bob']);
  });

  it('notices a node killed with SIGKILL within the node timeout: its users leave, the others keep serving', async () => {
    const watcher = await client(nodes[0]!, 'watcher');
    await client(nodes[2]!, 'carol');
    await pause(300);
    assert.ok((await watcher.presence.getAll()).includes('carol'));
    const victim = nodes[2]!;
    victim.child.kill('SIGKILL');
    await pause(1600); // nodeTimeout is 1000 ms in this cluster
    assert.ok(!(await watcher.presence.getAll()).includes('carol'), 'users of a dead node are offline');
    assert.match(nodes[0]!.output(), /cluster node gone.*"node":"c"|"node":"c".*cluster node gone/);
    const [onA, onB] = await Promise.all([client(nodes[0]!), client(nodes[1]!)]);
    const got = new Promise((resolve) => onA.event.subscribe('after', resolve));
    await pause(300);
    onB.event.emit('after', 'still clustered');
    assert.equal(await got, 'still clustered');
  });
});
