import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import mqtt from '../src/index.ts';
import { RawMqtt, collect, deepstream, mqttClient, pause, server, subscribeCodes, until, type MqttTestServer } from './helpers.ts';

/** Another MQTT client and a deepstream client still exchange events: the server is up, others unaffected. */
async function othersUnaffected(s: MqttTestServer): Promise<void> {
  const sub = await mqttClient(s.mqttUrl);
  const seen = collect(sub);
  await sub.subscribeAsync('health');
  const ds = await deepstream(s.url);
  ds.event.emit('health', 'ok');
  await until(() => seen.length === 1, 'an event after the bad client');
}

describe('MQTT bad input: the offending client is disconnected, nobody else', () => {
  it('malformed packets, packets before CONNECT and unsupported protocol versions', async () => {
    const s = await server({ plugins: [authOpen, events, mqtt.with({ port: 0 })] });
    const healthy = await mqttClient(s.mqttUrl);
    const seen = collect(healthy);
    await healthy.subscribeAsync('health');

    const garbage = await RawMqtt.open(s.mqttPort);
    garbage.write(Buffer.from([0x12, 0x00])); // CONNECT with reserved flag bits set
    await garbage.whenClosed();

    const reserved = await RawMqtt.connect(s.mqttPort, 5);
    reserved.write(Buffer.from([0x00, 0x00])); // packet type 0 is reserved
    await reserved.whenClosed();
    assert.equal(reserved.packets.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x81, 'MQTT 5: Malformed Packet');

    const early = await RawMqtt.open(s.mqttPort);
    early.send({ cmd: 'publish', topic: 'health', payload: Buffer.from('sneaky'), qos: 0, retain: false, dup: false });
    await early.whenClosed();

    const old = await RawMqtt.open(s.mqttPort);
    old.write(Buffer.from([0x10, 0x0e, 0x00, 0x06, ...Buffer.from('MQIsdp'), 0x03, 0x02, 0x00, 0x00, 0x00, 0x00]));
    const connack = await old.next('connack');
    assert.equal(connack.returnCode, 1, 'unacceptable protocol version');
    await old.whenClosed();

    await othersUnaffected(s);
    await pause(100);
    assert.deepEqual(seen.map((m) => m.payload), ['ok'], 'the early publish never got in');
  });

  it('a CONNECT that never comes: closed after connectTimeout', async () => {
    const s = await server({ plugins: [authOpen, events, mqtt.with({ port: 0, connectTimeout: 200 })] });
    const idle = await RawMqtt.open(s.mqttPort);
    const started = Date.now();
    await idle.whenClosed(3000);
    assert.ok(Date.now() - started >= 150);
    await othersUnaffected(s);
  });

  it('oversized packets: announced or sent, closed before they are buffered (MQTT 5: DISCONNECT 0x95)', async () => {
    const s = await server({ plugins: [authOpen, events, mqtt.with({ port: 0, maxPacketSize: 1024 })] });
    const big = await RawMqtt.connect(s.mqttPort, 5);
    big.send({ cmd: 'publish', topic: 'health', payload: Buffer.alloc(2000, 0x61), qos: 0, retain: false, dup: false });
    await big.whenClosed();
    assert.equal(big.packets.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x95);

    // A header that announces 200 MB and never sends it.
    const announced = await RawMqtt.connect(s.mqttPort, 4);
    announced.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64]));
    await announced.whenClosed();
    await othersUnaffected(s);
  });

  it('the server\'s connection.maxMessageSize is the default limit', async () => {
    const s = await server({ connection: { maxMessageSize: 2048 }, plugins: [authOpen, events, mqtt.with({ port: 0 })] });
    const c = await RawMqtt.open(s.mqttPort, 5);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x', clean: true, keepalive: 0 });
    const connack = await c.next('connack');
    assert.equal(connack.properties?.maximumPacketSize, 2048);
  });

  it('invalid topic names and filters; # at the root is a filter like any other', async () => {
    const s = await server({ plugins: [authOpen, events, mqtt.with({ port: 0 })] });
    // The mqtt client checks filters itself; these come raw.
    const raw5 = await RawMqtt.connect(s.mqttPort, 5);
    raw5.send({ cmd: 'subscribe', messageId: 3, subscriptions: ['a/#/b', 'a+/b', '$share/group/a', 'fine/+', ''].map((topic) => ({ topic, qos: 0 as const })) });
    assert.deepEqual((await raw5.next('suback')).granted, [0x8f, 0x8f, 0x9e, 0, 0x8f]);
    const raw4 = await RawMqtt.connect(s.mqttPort, 4);
    raw4.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/#/b', qos: 0 }, { topic: 'x/+', qos: 1 }] });
    assert.deepEqual((await raw4.next('suback')).granted, [0x80, 0]);
    const v4 = await mqttClient(s.mqttUrl);
    assert.deepEqual(await subscribeCodes(v4, ['#']), [0], 'no permission rule refuses # here');
    const everything = collect(v4);
    const ds = await deepstream(s.url);
    ds.event.emit('any/thing', 1);
    ds.event.emit('$SYS/uptime', 2); // names starting with $ are not matched by a leading wildcard
    await until(() => everything.length === 1, '# to receive the event');
    assert.equal(everything[0]!.topic, 'any/thing');

    const raw = await RawMqtt.connect(s.mqttPort, 5);
    raw.send({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    await raw.whenClosed();
    assert.equal(raw.packets.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x90, 'Topic Name invalid');
    await othersUnaffected(s);
  });

  it('a client that stops reading is dropped at connection.outgoingBufferLimit; the others keep receiving', async () => {
    const s = await server({ connection: { outgoingBufferLimit: 256 * 1024 }, plugins: [authOpen, events, mqtt.with({ port: 0 })] });
    const stuck = await RawMqtt.connect(s.mqttPort, 4);
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
    await stuck.next('suback');
    stuck.socket.pause(); // reads nothing from now on
    const reader = await mqttClient(s.mqttUrl);
    let received = 0;
    reader.on('message', () => received++);
    await reader.subscribeAsync('flood');
    const ds = await deepstream(s.url);
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 2000 && !stuck.closed; i++) {
      ds.event.emit('flood', chunk);
      if (i % 50 === 49) await pause(5);
    }
    await until(() => s.logs.some((l) => l.msg.includes('slow consumer')), 'the slow consumer to be dropped', 10000);
    await until(() => received > 100, 'the reader to keep receiving', 10000);
    await othersUnaffected(s);
  });
});
