/**
 * Three server processes clustered over a real Redis behind a round-robin TCP balancer, logging in
 * through a real auth webhook: HTTP API tokens work on every node and are revoked everywhere,
 * listening offers go to the subscriber's own listeners first, and a node that has just restarted
 * answers logins within a 200 ms unauthenticatedClientTimeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DeepstreamClient } from '@deepstream/client';
import { AUTH_ACTION, CONNECTION_ACTION, TOPIC } from '@deepstream-ts/core';
import { RawClient } from '@deepstream-ts/core/testing';
import { freePort, isSkip, startRedis, type RedisServer } from './services/real-servers.ts';
import { TcpBalancer } from './helpers/tcp-balancer.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const redisServer = await startRedis();
const skip = isSkip(redisServer) ? redisServer.skip : false;
const TOKEN_EXPIRY = 8000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The auth webhook: `{username}` logs in as that user (`wh` also gets the webhook's own token,
 * `wh-token-1`); `{token: 'wh-token-1'}` is `wh` again; any other token is refused, and so is
 * `mallory`. What it was asked is kept; `delay.ms` makes username logins that slow.
 */
function startWebhook(): Promise<{ server: Server; url: string; asked: unknown[]; delay: { ms: number } }> {
  const asked: unknown[] = [];
  const delay = { ms: 0 };
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const { authData } = JSON.parse(text) as { authData: { username?: string; token?: string } };
      asked.push(authData);
      const answer = (status: number, body: object) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (authData.token !== undefined) return authData.token === 'wh-token-1' ? answer(200, { id: 'wh' }) : answer(401, {});
      if (authData.username === 'mallory') return answer(401, {});
      if (authData.username === 'wh') return answer(200, { id: 'wh', token: 'wh-token-1' });
      const ok = () => answer(200, { id: authData.username ?? 'anonymous' });
      if (delay.ms > 0) setTimeout(ok, delay.ms);
      else ok();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`, asked, delay })));
}

interface Node {
  name: string;
  port: number;
  url: string;
  base: string;
  child: ChildProcess;
  output(): string;
}

function startNode(name: string, env: Record<string, string>, port: number): Promise<Node> {
  const child = spawn(process.execPath, ['core/bin/deepstream.js', 'start', '--config', 'test/fixtures/configs/cluster-http.config.ts', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, ...env, DS_TEST_NODE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 30_000);
    child.stdout!.on('data', () => {
      if (!output.includes('deepstream-ts is ready')) return;
      clearTimeout(timer);
      resolve({ name, port, url: `ws://127.0.0.1:${port}/deepstream`, base: `http://127.0.0.1:${port}`, child, output: () => output });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null) return;
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  node.child.kill('SIGTERM');
  await exited;
}

function post(url: string, body: unknown): Promise<{ status: number; json: any; text: string }> {
  // A connection of its own per request (agent: false): the balancer picks the next node for each.
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, json, text });
      });
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/**
 * A login as a client that reconnects at once does it: connect (again and again while the port is
 * closed or not yet serving), CHALLENGE, AUTH; what the server answered first.
 */
async function quickLogin(url: string, giveUp: number): Promise<'ok' | 'timeout' | 'refused'> {
  for (;;) {
    let client: RawClient;
    try {
      client = await RawClient.connect(url);
    } catch {
      if (Date.now() > giveUp) throw new Error(`no connection to ${url}`);
      await pause(5);
      continue;
    }
    try {
      const isTimeout = (m: { topic: number; action: number }) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.AUTHENTICATION_TIMEOUT;
      client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
      const accepted = await client.next((m) => isTimeout(m) || (m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT), 5000);
      if (isTimeout(accepted)) return 'timeout';
      client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username: 'returning' }) });
      const reply = await client.next((m) => isTimeout(m) || m.topic === TOPIC.AUTH, 5000);
      if (isTimeout(reply)) return 'timeout';
      return reply.action === AUTH_ACTION.AUTH_SUCCESSFUL ? 'ok' : 'refused';
    } finally {
      client.close();
    }
  }
}

describe('HTTP tokens, listening order and restarts in a three-node cluster over Redis', { skip }, () => {
  const redis = redisServer as RedisServer;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let env: Record<string, string>;
  let nodes: Node[] = [];
  let balancer: TcpBalancer;
  let viaBalancer = '';
  const clients: DeepstreamClient[] = [];
  async function client(node: Node, username = 'someone'): Promise<DeepstreamClient> {
    const c = new DeepstreamClient(node.url);
    clients.push(c);
    await c.login({ username });
    return c;
  }
  /** Who the node serving this batch thinks sent it: an RPC whose provider answers the requestor's name. */
  const whoami = (url: string, auth: object) => post(url, { ...auth, body: [{ topic: 'rpc', action: 'make', rpcName: 'whoami' }] });

  before(async () => {
    webhook = await startWebhook();
    env = { DS_TEST_REDIS_URL: redis.url, DS_TEST_WEBHOOK: webhook.url, DS_TEST_TOKEN_EXPIRY: String(TOKEN_EXPIRY) };
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    nodes = await Promise.all(['a', 'b', 'c'].map((name, i) => startNode(name, env, ports[i]!)));
    balancer = new TcpBalancer(ports, { roundRobin: true });
    await balancer.listen();
    viaBalancer = `http://127.0.0.1:${balancer.port}`;
    await pause(500); // heartbeats: every node learns the others
    const provider = await client(nodes[0]!, 'provider');
    const answer = (_data: unknown, response: { send(data: unknown): void }, requestor?: { requestorName?: string }) => response.send(requestor?.requestorName ?? 'unknown');
    provider.rpc.provide('whoami', answer as never);
    await pause(300);
  });
  after(async () => {
    for (const c of clients) c.close();
    await balancer?.stop();
    for (const node of nodes) node.child.kill('SIGKILL');
    webhook?.server.close();
    await redis.stop();
  });

  it('accepts a token from /api/auth on one node on every node, and revokes it everywhere with a logout on another', async () => {
    const login = await post(`${nodes[1]!.base}/api/auth`, { username: 'ann' });
    assert.equal(login.status, 200, login.text);
    const { token } = login.json as { token: string };
    for (let i = 0; i < 6; i++) {
      const reply = await whoami(`${viaBalancer}/api`, { token });
      assert.deepEqual(reply.json, { result: 'SUCCESS', body: [{ success: true, data: 'ann' }] }, `request ${i}: ${reply.text}`);
    }
    const asked = webhook.asked.length;
    for (const node of nodes) assert.equal((await whoami(`${node.base}/api`, { token })).json?.body?.[0]?.data, 'ann', node.name);
    assert.equal(webhook.asked.length, asked, 'our own token needs no webhook call');

    const logout = await post(`${nodes[2]!.base}/api/auth/logout`, { token });
    assert.equal(logout.status, 200, logout.text);
    await pause(200);
    for (const node of nodes) {
      const reply = await whoami(`${node.base}/api`, { token });
      assert.equal(reply.status, 401, `${node.name}: ${reply.text}`);
    }
  });

  it('refuses forged tokens on every node', async () => {
    const { token } = (await post(`${nodes[0]!.base}/api/auth`, { username: 'ann' })).json as { token: string };
    const [prefix, kid, sealed] = token.split('.') as [string, string, string];
    const altered = `${prefix}.${kid}.${sealed.slice(0, 20)}${sealed[20] === 'x' ? 'y' : 'x'}${sealed.slice(21)}`;
    for (const forged of [altered, `${prefix}.${kid}.${Buffer.from('{"j":"x","e":99999999999999,"i":"root"}').toString('base64url')}`]) {
      for (const node of nodes) assert.equal((await whoami(`${node.base}/api`, { token: forged })).status, 401, `${node.name}: ${forged}`);
    }
  });

  it('hands back the webhook\'s own token and checks it with the webhook on every node, as deepstream 7 does', async () => {
    const login = await post(`${nodes[2]!.base}/api/auth`, { username: 'wh' });
    assert.deepEqual(login.json, { token: 'wh-token-1' });
    for (const node of nodes) assert.equal((await whoami(`${node.base}/api`, { token: 'wh-token-1' })).json?.body?.[0]?.data, 'wh', node.name);
    assert.deepEqual(webhook.asked.slice(-3), [{ token: 'wh-token-1' }, { token: 'wh-token-1' }, { token: 'wh-token-1' }]);
    assert.equal((await whoami(`${viaBalancer}/api`, { token: 'wh-token-2' })).status, 401);
  });

  it('offers a name to the subscriber\'s own listeners first, in registration order, then to other nodes\'', async () => {
    // A and B on a (where the subscriber is), C on b; nobody accepts but C.
    const [listenerA, listenerB, listenerC, subscriber] = [await client(nodes[0]!), await client(nodes[0]!), await client(nodes[1]!), await client(nodes[0]!)];
    const asked: string[] = [];
    const offer = (who: string, accept: boolean) => (name: string, response: { accept(): void; reject(): void }) => {
      asked.push(`${who}:${name}`);
      if (accept) response.accept();
      else response.reject();
    };
    listenerA.event.listen('^ordered/', offer('A', false));
    await pause(200);
    listenerB.event.listen('^ordered/', offer('B', false));
    listenerC.event.listen('^ordered/', offer('C', true));
    await pause(300);
    const names = ['ordered/1', 'ordered/2', 'ordered/3', 'ordered/4'];
    for (const name of names) subscriber.event.subscribe(name, () => undefined);
    await pause(1200);
    for (const name of names) assert.deepEqual(asked.filter((entry) => entry.endsWith(`:${name}`)), [`A:${name}`, `B:${name}`, `C:${name}`]);
  });

  it('answers logins right after a restart within a 200 ms unauthenticatedClientTimeout, and its tokens still work', async () => {
    const { token } = (await post(`${nodes[2]!.base}/api/auth`, { username: 'ann' })).json as { token: string };
    const old = nodes[2]!;
    await stopNode(old);
    const restarting = startNode('c', env, old.port);
    // Clients of the stopped node reconnect at once, as the official client's first retry does,
    // while the webhook is slow to answer (a cold auth service): longer than the timeout.
    webhook.delay.ms = 300;
    const giveUp = Date.now() + 30_000;
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => quickLogin(old.url, giveUp))).finally(() => (webhook.delay.ms = 0));
    nodes[2] = await restarting;
    assert.deepEqual(outcomes, Array(8).fill('ok'));
    await pause(500);
    // The restarted issuer learned its keys back from the others.
    for (const node of nodes) {
      const reply = await whoami(`${node.base}/api`, { token });
      assert.equal(reply.json?.body?.[0]?.data, 'ann', `${node.name}: ${reply.status} ${reply.text}`);
    }
  });

  it('refuses tokens once they expire, on every node', async () => {
    const { token } = (await post(`${viaBalancer}/api/auth`, { username: 'ann' })).json as { token: string };
    assert.equal((await whoami(`${viaBalancer}/api`, { token })).status, 200);
    await pause(TOKEN_EXPIRY + 200);
    for (const node of nodes) assert.equal((await whoami(`${node.base}/api`, { token })).status, 401, node.name);
  });
});
