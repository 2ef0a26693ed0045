import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import mqtt from '../src/index.ts';
import { RawMqtt, collect, deepstream, mqttClient, pause, server, until } from './helpers.ts';

const endpoint = mqtt.with({ port: 0 });

describe('MQTT sessions', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`the will is published when an MQTT ${protocolVersion === 4 ? '3.1.1' : '5'} client vanishes, not after a clean DISCONNECT`, async () => {
      const s = await server({ plugins: [authOpen, events, records, endpoint] });
      const ds = await deepstream(s.url);
      const statuses: unknown[] = [];
      ds.event.subscribe('status/dev1', (d: unknown) => statuses.push(d));
      await pause(200);
      const will = { topic: 'status/dev1', payload: Buffer.from('{"online":false}'), qos: 0 as const, retain: false };

      const polite = await mqttClient(s.mqttUrl, { protocolVersion, will });
      await polite.endAsync();
      await pause(200);
      assert.deepEqual(statuses, [], 'no will after DISCONNECT');

      const vanishing = await mqttClient(s.mqttUrl, { protocolVersion, will });
      vanishing.stream.destroy(); // the network goes away
      await until(() => statuses.length === 1, 'the will');
      assert.deepEqual(statuses, [{ online: false }]);
    });
  }

  it('PINGREQ keeps a client alive; silence past 1.5 × keep-alive closes it (MQTT 5: DISCONNECT 0x8D)', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const pinging = await RawMqtt.connect(s.mqttPort, 5, { keepalive: 1 });
    const silent = await RawMqtt.connect(s.mqttPort, 5, { keepalive: 1 });
    const timer = setInterval(() => pinging.send({ cmd: 'pingreq' }), 500);
    try {
      await pinging.next('pingresp');
      await silent.whenClosed(4000);
      const disconnect = silent.packets.find((p) => p.cmd === 'disconnect');
      assert.equal(disconnect?.reasonCode, 0x8d);
      assert.equal(pinging.closed, false);
    } finally {
      clearInterval(timer);
    }
  });

  it('a second connection with the same client id takes over (MQTT 5: DISCONNECT 0x8E to the first), with its session', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const first = await RawMqtt.connect(s.mqttPort, 5, { clientId: 'pump-7' });
    const second = await RawMqtt.connect(s.mqttPort, 5, { clientId: 'pump-7' });
    await first.whenClosed();
    assert.equal(first.packets.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x8e);
    assert.equal(second.closed, false);

    // A persistent session moves to the newer connection.
    const old = await RawMqtt.open(s.mqttPort, 4);
    old.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pump-8', clean: false, keepalive: 0 });
    await old.next('connack');
    old.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pump/8', qos: 0 }] });
    await old.next('suback');
    const newer = await RawMqtt.open(s.mqttPort, 4);
    newer.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pump-8', clean: false, keepalive: 0 });
    assert.equal((await newer.next('connack')).sessionPresent, true);
    await old.whenClosed();
    await pause(100);
    const ds = await deepstream(s.url);
    ds.event.emit('pump/8', 'on');
    assert.equal((await newer.next('publish')).topic, 'pump/8');
  });

  it('persistent sessions: subscriptions outlive the connection (MQTT 3.1.1 Clean Session 0), clean ones do not', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const ds = await deepstream(s.url);
    const first = await RawMqtt.open(s.mqttPort, 4);
    first.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'meter-1', clean: false, keepalive: 0 });
    assert.equal((await first.next('connack')).sessionPresent, false, 'no session yet');
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 0 }, { topic: 'ping', qos: 0 }] });
    await first.next('suback');
    first.send({ cmd: 'disconnect' });
    await first.whenClosed();

    const again = await RawMqtt.open(s.mqttPort, 4);
    again.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'meter-1', clean: false, keepalive: 0 });
    assert.equal((await again.next('connack')).sessionPresent, true);
    await pause(100);
    ds.event.emit('cmd/reset', 'now');
    ds.event.emit('ping', 1);
    const got = [await again.next('publish'), await again.next('publish')].map((p) => p.topic).sort();
    assert.deepEqual(got, ['cmd/reset', 'ping'], 'subscribed again without a SUBSCRIBE');
    assert.equal(again.packets.some((p) => p.cmd === 'suback'), false);
    again.send({ cmd: 'disconnect' });
    await again.whenClosed();

    const clean = await RawMqtt.open(s.mqttPort, 4);
    clean.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'meter-1', clean: true, keepalive: 0 });
    assert.equal((await clean.next('connack')).sessionPresent, false, 'Clean Session 1 discards it');
    ds.event.emit('ping', 2);
    await pause(200);
    assert.equal(clean.packets.some((p) => p.cmd === 'publish'), false);
  });

  it('MQTT 5: the session lasts its Session Expiry Interval; an empty client id is assigned one', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const connect = (clean: boolean) => ({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'tracker', clean, keepalive: 0, properties: { sessionExpiryInterval: 1 } }) as const;
    const a = await RawMqtt.open(s.mqttPort, 5);
    a.send(connect(true));
    assert.equal((await a.next('connack')).properties?.sessionExpiryInterval, 1);
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gps', qos: 0 }] });
    await a.next('suback');
    a.socket.destroy();
    await pause(100);
    const b = await RawMqtt.open(s.mqttPort, 5);
    b.send(connect(false));
    assert.equal((await b.next('connack')).sessionPresent, true, 'within the interval');
    b.socket.destroy();
    await pause(2500);
    const c = await RawMqtt.open(s.mqttPort, 5);
    c.send(connect(false));
    assert.equal((await c.next('connack')).sessionPresent, false, 'expired');

    const anonymous = await RawMqtt.open(s.mqttPort, 5);
    anonymous.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: '', clean: true, keepalive: 0 });
    const connack = await anonymous.next('connack');
    assert.match(connack.properties?.assignedClientIdentifier ?? '', /^ds-mqtt-/);
    assert.equal(connack.properties?.sessionExpiryInterval, 0);
  });

  it('stopping the server tells MQTT 5 clients it is shutting down (DISCONNECT 0x8B)', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const c = await RawMqtt.connect(s.mqttPort, 5);
    await s.stop();
    await c.whenClosed();
    assert.equal(c.packets.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x8b);
  });

  it('a deepstream client and an MQTT client of the same user see each other in one exchange', async () => {
    const s = await server({ plugins: [authOpen, events, records, endpoint] });
    const device = await mqttClient(s.mqttUrl, { username: 'alice' });
    const seen = collect(device);
    await device.subscribeAsync('chat');
    const ds = await deepstream(s.url, { username: 'alice' });
    ds.event.emit('chat', { text: 'hi from the browser' });
    await until(() => seen.length === 1, 'the event');
    assert.equal(seen[0]!.payload, '{"text":"hi from the browser"}');
  });

  it('without the records plugin a retained PUBLISH is an event like any other, and MQTT 5 is told retain is unavailable', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const ds = await deepstream(s.url);
    const got: unknown[] = [];
    ds.event.subscribe('state', (d: unknown) => got.push(d));
    await pause(200);
    const raw = await RawMqtt.open(s.mqttPort, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'r', clean: true, keepalive: 0 });
    assert.equal((await raw.next('connack')).properties?.retainAvailable, false);
    raw.send({ cmd: 'publish', topic: 'state', payload: Buffer.from('{"on":1}'), qos: 1, messageId: 9, retain: true, dup: false });
    assert.equal((await raw.next('puback')).messageId, 9);
    await until(() => got.length === 1, 'the event');
    assert.deepEqual(got, [{ on: 1 }]);
  });

  it('connection.maxUnauthenticatedPerAddress applies to MQTT sockets too', async () => {
    const s = await server({ connection: { maxUnauthenticatedPerAddress: 1 }, plugins: [authOpen, events, endpoint] });
    const first = await RawMqtt.open(s.mqttPort); // open, no CONNECT yet: not logged in
    const second = await RawMqtt.open(s.mqttPort);
    await second.whenClosed();
    assert.equal(first.closed, false);
    first.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'a', clean: true, keepalive: 0 });
    assert.equal((await first.next('connack')).returnCode, 0);
  });

  it('MQTT 5: events larger than the client\'s Maximum Packet Size are left out for it', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const small = await RawMqtt.connect(s.mqttPort, 5, { properties: { maximumPacketSize: 100 } });
    small.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'size', qos: 0 }] });
    await small.next('suback');
    const ds = await deepstream(s.url);
    ds.event.emit('size', 'x'.repeat(200));
    ds.event.emit('size', 'fits');
    const publish = await small.next('publish');
    assert.equal(publish.payload.toString(), 'fits');
    assert.equal(small.closed, false);
  });
});
