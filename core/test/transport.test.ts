import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  TOPIC,
  binaryCodec,
  definePlugin,
  type Connection,
  type Message,
  type Session,
  type TransportHost,
} from '@deepstream-ts/core';
import { RawClient, startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

/** A transport with no socket at all: frames are handed over in memory. */
class MemoryConnection implements Connection {
  readonly info = { transport: 'memory', remoteAddress: 'in-process', headers: {} };
  readonly codec = binaryCodec;
  readonly bufferedBytes = 0;
  readonly received: Message[] = [];
  session!: Session;
  closed = false;
  send(frame: Uint8Array): void {
    this.received.push(binaryCodec.decode(frame)!);
  }
  close(): void {
    this.closed = true;
    this.session.closed();
  }
  terminate(): void {
    this.close();
  }
  deliver(message: Message): void {
    this.session.receive(binaryCodec.encode(message));
  }
}

describe('transports added by plugins', () => {
  it('get the same handshake, login and routing as WebSocket clients, and talk to them', async () => {
    let host: TransportHost | undefined;
    let stopped = false;
    const memoryTransport = definePlugin({
      name: 'memory-transport',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.addTransport((h) => {
          host = h;
          return { name: 'memory', start: async () => undefined, stop: async () => void (stopped = true) };
        });
      },
    });
    const server = await startTestServer({ plugins: [authOpen, events, memoryTransport] });
    try {
      const connection = new MemoryConnection();
      connection.session = host!.open(connection);
      connection.deliver({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
      connection.deliver({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"mem"}' });
      await new Promise((resolve) => setTimeout(resolve, 20)); // login is asynchronous, as for any client
      connection.deliver({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['bridge'], correlationId: '1' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(
        connection.received.map((m) => [m.topic, m.action]),
        [
          [TOPIC.CONNECTION, CONNECTION_ACTION.ACCEPT],
          [TOPIC.AUTH, AUTH_ACTION.AUTH_SUCCESSFUL],
          [TOPIC.EVENT, EVENT_ACTION.SUBSCRIBE],
        ],
      );
      assert.equal(connection.session.userId, 'mem');

      const ws = new DeepstreamClient(server.url);
      await ws.login();
      ws.event.emit('bridge', { from: 'websocket' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(connection.received.at(-1), { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'bridge', data: '{"from":"websocket"}', names: [] });
      ws.close();
    } finally {
      await server.stop();
    }
    assert.equal(stopped, true);
  });
});

describe('WebSocket connection info', () => {
  it('shows the upgrade headers to authentication and to authenticated hooks, and lets them go once the session has logged in', async () => {
    const seen: { strategy?: string; hook?: string; after?: number } = {};
    let opened: Session | undefined;
    const headerWatcher = definePlugin({
      name: 'header-watcher',
      version: '1.0.0',
      kernel: '^0.1.0',
      setup(ctx) {
        ctx.hooks.authenticate.tap(ctx.name, ({ connection }) => {
          seen.strategy = connection.headers['x-client-build'] as string | undefined;
          return undefined;
        });
        ctx.hooks.authenticated.tap(ctx.name, (session) => {
          seen.hook = session.info.headers['x-client-build'] as string | undefined;
          opened = session;
        });
      },
    });
    const server = await startTestServer({ plugins: [headerWatcher, authOpen] });
    let client: RawClient | undefined;
    try {
      client = await RawClient.login(server.url, {}, { 'x-client-build': '42' });
      assert.ok(opened, 'logged in');
      assert.equal(seen.strategy, '42', 'the strategy saw the header');
      assert.equal(seen.hook, '42', 'the authenticated hook saw the header');
      assert.deepEqual({ ...opened.info.headers }, {}, 'not kept past login');
      assert.equal(opened.info.remoteAddress, '127.0.0.1', 'the address stays');
    } finally {
      client?.close();
      await server.stop();
    }
  });
});
