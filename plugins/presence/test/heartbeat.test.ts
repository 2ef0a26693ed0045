import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { CONNECTION_ACTION, PRESENCE_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RawClient } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import presence from '@deepstream-ts/plugin-presence';
import { eventually, keepAlive, probe, raw, useServer } from './helpers.ts';

/** Small enough for fast tests: silent sockets go 400-500 ms after their last frame. */
const HEARTBEAT = 200;
const presenceOnly = (m: Message) => m.topic === TOPIC.PRESENCE;

/** A watcher subscribed to everyone that keeps its own connection alive. */
async function watcher(url: string, stops: Array<() => void>): Promise<RawClient> {
  const w = await raw(url, 'watcher');
  stops.push(keepAlive(w, HEARTBEAT / 2));
  w.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
  await w.next(presenceOnly);
  return w;
}

/** The TCP socket under a raw client: ws keeps it on a private field. */
const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

describe('presence and vanished clients (heartbeat sweep)', () => {
  const { plugin, service } = probe();
  const server = useServer({ plugins: [authOpen, presence, plugin], connection: { heartbeatInterval: HEARTBEAT } });
  const stops: Array<() => void> = [];
  const stopPinging = () => {
    for (const stop of stops.splice(0)) stop();
  };

  it('a client that stops sending leaves once the sweep closes it, not before', async () => {
    try {
      const w = await watcher(server().url, stops);
      await raw(server().url, 'quiet');
      const lastFrame = Date.now(); // the login was its last frame
      assert.equal((await w.next(presenceOnly)).action, PRESENCE_ACTION.PRESENCE_JOIN_ALL);
      const leave = await w.next(presenceOnly, 3000);
      const silentFor = Date.now() - lastFrame;
      assert.deepEqual(leave, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.PRESENCE_LEAVE_ALL, name: 'quiet', names: [] });
      assert.ok(silentFor >= 2 * HEARTBEAT, `left after ${silentFor} ms of silence`);
    } finally {
      stopPinging();
    }
  });

  it('a client whose network is gone (it keeps pinging into a dead socket) leaves the same way', async () => {
    try {
      const w = await watcher(server().url, stops);
      const lost = await raw(server().url, 'lost');
      stops.push(keepAlive(lost, HEARTBEAT / 2));
      assert.equal((await w.next(presenceOnly)).name, 'lost');
      // Nothing in, nothing out, no close frame: what a pulled cable looks like from the server.
      socketOf(lost).pause();
      socketOf(lost).cork();
      const leave = await w.next(presenceOnly, 3000);
      assert.equal(leave.action, PRESENCE_ACTION.PRESENCE_LEAVE_ALL);
      assert.equal(leave.name, 'lost');
      assert.equal(service().isOnline('lost'), false);
    } finally {
      stopPinging();
    }
  });

  it('a vanished connection of a user with another live one is silent; the user stays online', async () => {
    try {
      const w = await watcher(server().url, stops);
      const live = await raw(server().url, 'two');
      stops.push(keepAlive(live, HEARTBEAT / 2));
      assert.equal((await w.next(presenceOnly)).name, 'two');
      await raw(server().url, 'two'); // never pings: swept
      await eventually(() => service().stats.connections === 2, 3000); // watcher + the live one
      assert.ok(await w.nothingWithin(100, presenceOnly));
      assert.equal(service().isOnline('two'), true);
      live.close();
      assert.equal((await w.next(presenceOnly)).action, PRESENCE_ACTION.PRESENCE_LEAVE_ALL);
    } finally {
      stopPinging();
    }
  });

  it('a socket swept before logging in changes nothing', async () => {
    try {
      const w = await watcher(server().url, stops);
      const anonymous = await RawClient.connect(server().url);
      anonymous.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: server().url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
      await anonymous.closed;
      assert.ok(await w.nothingWithin(100, presenceOnly));
      assert.equal(service().stats.connections, 1);
    } finally {
      stopPinging();
    }
  });

  it('leaves nothing behind', async () => {
    await eventually(() => service().stats.connections === 0, 3000);
    assert.equal(service().stats.onlineUsers, 0);
    assert.equal(service().stats.everyoneSubscribers, 0);
  });
});
