/**
 * The WebSocket transport queues a turn's frames per socket and writes them itself, as one buffer
 * (or, past 256 KiB, runs of copies and large frames as they are): every frame must arrive whole,
 * in order, and before a close frame the server sends in the same turn.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

describe('websocket write batching', () => {
  let server: TestServer;
  const clients: RawClient[] = [];
  before(async () => {
    server = await startTestServer({ plugins: [authOpen, events], connection: { outgoingBufferLimit: 64 * 1024 * 1024 } });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  it('delivers a turn of mixed small and large frames whole and in order', async () => {
    const subscriber = await RawClient.login(server.url);
    const emitter = await RawClient.login(server.url);
    clients.push(subscriber, emitter);
    subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['mixed'], correlationId: '1' });
    await subscriber.next((m) => m.isAck === true);
    // Sizes around every framing and copying boundary: 125/126 and 65535/65536-byte payloads,
    // the 16 KiB large-frame limit, and more than 256 KiB in one turn.
    const sizes = [1, 120, 125, 126, 127, 1000, 16 * 1024 - 40, 16 * 1024, 70_000, 65_400, 65_600, 300_000, 5, 200_000, 3];
    const payloads = sizes.flatMap((size, i) => [JSON.stringify(`${i}:`.padEnd(size, 'x')), JSON.stringify(i)]);
    // One socket write, so the server reads (and fans out) many of them in one turn.
    const socket = (emitter.ws as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (const data of payloads) emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'mixed', data });
    socket.uncork();
    for (const data of payloads) {
      const m = await subscriber.next((x) => x.topic === TOPIC.EVENT && x.action === EVENT_ACTION.EMIT, 5000);
      assert.equal(m.data, data);
    }
  });

  it('lets queued frames leave before the close frame sent in the same turn', async () => {
    const client = await RawClient.connect(server.url);
    clients.push(client);
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
    // Auth data that is not a JSON object: INVALID_MESSAGE_DATA, then close, in one turn.
    client.ws.send(binaryCodec.encode({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '"not an object"' }));
    const reply = await client.next((m) => m.topic === TOPIC.AUTH);
    assert.equal(reply.action, AUTH_ACTION.INVALID_MESSAGE_DATA);
    await client.closed;
  });
});

describe('connection.writeDelay', () => {
  /** Four events emitted 15 ms apart: how many socket reads carried them, and when the first came. */
  async function deliveries(writeDelay: number | undefined): Promise<{ reads: number; firstMs: number }> {
    const server = await startTestServer({ plugins: [authOpen, events], connection: writeDelay === undefined ? {} : { writeDelay } });
    const subscriber = await RawClient.login(server.url);
    const emitter = await RawClient.login(server.url);
    try {
      subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['paced'], correlationId: '1' });
      await subscriber.next((m) => m.isAck === true);
      let reads = 0;
      (subscriber.ws as unknown as { _socket: Socket })._socket.on('data', () => reads++);
      const start = performance.now();
      for (let i = 0; i < 4; i++) {
        emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'paced', data: JSON.stringify(i) });
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      const first = await subscriber.next((m) => m.action === EVENT_ACTION.EMIT, 5000);
      const firstMs = performance.now() - start;
      assert.equal(first.data, '0');
      for (let i = 1; i < 4; i++) assert.equal((await subscriber.next((m) => m.action === EVENT_ACTION.EMIT, 5000)).data, JSON.stringify(i));
      return { reads, firstMs };
    } finally {
      subscriber.ws.terminate();
      emitter.ws.terminate();
      await server.stop();
    }
  }

  it('holds a connection\'s frames up to the delay and sends them as one write', async () => {
    const held = await deliveries(200);
    assert.equal(held.reads, 1, 'four events in one socket write');
    assert.ok(held.firstMs >= 150, `the first event was held (${held.firstMs.toFixed(0)} ms)`);
  });

  it('sends at the end of the turn by default', async () => {
    const prompt = await deliveries(undefined);
    assert.equal(prompt.reads, 4);
  });
});
