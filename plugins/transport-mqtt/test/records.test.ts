import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import mqtt from '../src/index.ts';
import { RawMqtt, collect, deepstream, mqttClient, pause, server, until } from './helpers.ts';

const endpoint = mqtt.with({ port: 0 });

for (const protocolVersion of [4, 5] as const) {
  describe(`retained messages are records (MQTT ${protocolVersion === 4 ? '3.1.1' : '5'})`, () => {
    it('a retained PUBLISH writes the record; new subscribers get it retained; deepstream changes reach MQTT; empty deletes', async () => {
      const s = await server({ plugins: [authOpen, events, records, endpoint] });
      const device = await mqttClient(s.mqttUrl, { protocolVersion });
      const ds = await deepstream(s.url);
      const dsEvents: unknown[] = [];
      ds.event.subscribe('config/dev1', (d: unknown) => dsEvents.push(d));
      await pause(200);

      // QoS 1: PUBACK once storage has it.
      await device.publishAsync('config/dev1', '{"interval":5}', { qos: 1, retain: true });
      const record = ds.record.getRecord('config/dev1');
      await record.whenReady();
      assert.deepEqual(record.get(), { interval: 5 });
      assert.deepEqual(dsEvents, [], 'a retained publish is a record write, not an event');

      const late = await mqttClient(s.mqttUrl, { protocolVersion });
      const seen = collect(late);
      await late.subscribeAsync('config/dev1');
      await until(() => seen.length === 1, 'the retained value');
      assert.deepEqual(seen[0], { topic: 'config/dev1', payload: '{"interval":5}', retain: true });

      record.set({ interval: 10, mode: 'eco' });
      await until(() => seen.length === 2, 'the new value');
      assert.deepEqual(seen[1], { topic: 'config/dev1', payload: '{"interval":10,"mode":"eco"}', retain: false });
      record.set('mode', 'turbo'); // a patch: the subscriber still gets the whole value
      await until(() => seen.length === 3, 'the patched value');
      assert.deepEqual(JSON.parse(seen[2]!.payload), { interval: 10, mode: 'turbo' });

      ds.event.emit('config/dev1', 'an event on the same name');
      await until(() => seen.length === 4, 'the event');
      assert.equal(seen[3]!.payload, 'an event on the same name');

      await device.publishAsync('config/dev1', '', { qos: 1, retain: true });
      await until(() => seen.length === 5, 'the deletion');
      assert.deepEqual(seen[4], { topic: 'config/dev1', payload: '', retain: false });
      assert.equal(await (await deepstream(s.url)).record.has('config/dev1'), false);
      const after = await mqttClient(s.mqttUrl, { protocolVersion });
      const afterSeen = collect(after);
      await after.subscribeAsync('config/dev1');
      await pause(200);
      assert.deepEqual(afterSeen, [], 'nothing retained after the delete');
    });
  });
}

describe('retained payloads that cannot be records', () => {
  it('MQTT 5 gets PUBACK "payload format invalid"; MQTT 3.1.1 is disconnected; nothing is written', async () => {
    const s = await server({ plugins: [authOpen, events, records, endpoint] });
    const v5 = await RawMqtt.connect(s.mqttPort, 5);
    v5.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('21.5'), qos: 1, messageId: 1, retain: true, dup: false });
    const puback = await v5.next('puback');
    assert.equal(puback.reasonCode, 0x99);
    const v4 = await RawMqtt.connect(s.mqttPort, 4);
    v4.send({ cmd: 'publish', topic: 'temp', payload: Buffer.from('not json'), qos: 1, messageId: 1, retain: true, dup: false });
    await v4.whenClosed();
    assert.equal(v4.packets.some((p) => p.cmd === 'puback'), false, 'a refused write is never acknowledged');
    const ds = await deepstream(s.url);
    assert.equal(await ds.record.has('temp'), false);
  });

  it('MQTT 5 Retain Handling 2 skips the retained value; a retained will writes the record', async () => {
    const s = await server({ plugins: [authOpen, events, records, endpoint] });
    const writer = await mqttClient(s.mqttUrl, { protocolVersion: 5 });
    await writer.publishAsync('cfg', '{"a":1}', { qos: 1, retain: true });
    const skip = await mqttClient(s.mqttUrl, { protocolVersion: 5 });
    const skipped = collect(skip);
    await skip.subscribeAsync('cfg', { qos: 0, rh: 2 });
    const take = await mqttClient(s.mqttUrl, { protocolVersion: 5 });
    const taken = collect(take);
    await take.subscribeAsync('cfg', { qos: 0, rh: 0 });
    await until(() => taken.length === 1, 'the retained value for rh 0');
    await pause(100);
    assert.deepEqual(skipped, []);

    const device = await mqttClient(s.mqttUrl, { will: { topic: 'device/9/state', payload: Buffer.from('{"online":false}'), qos: 1, retain: true } });
    device.stream.destroy();
    const ds = await deepstream(s.url);
    let state: unknown;
    for (let i = 0; i < 100 && state === undefined; i++) {
      if (await ds.record.has('device/9/state')) state = await ds.record.snapshot('device/9/state');
      else await pause(20);
    }
    assert.deepEqual(state, { online: false });
  });
});
