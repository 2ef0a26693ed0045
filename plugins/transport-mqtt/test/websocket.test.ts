import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import mqtt from '../src/index.ts';
import { collect, deepstream, mqttClient, server, until } from './helpers.ts';

describe('MQTT over WebSocket on a path of the main port', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5'} clients on ws://…/mqtt meet deepstream clients on ws://…/deepstream`, async () => {
      const s = await server({ plugins: [authOpen, events, records, mqtt.with({ port: 0, websocketPath: '/mqtt' })] });
      const browserDevice = await mqttClient(`ws://127.0.0.1:${s.port}/mqtt`, { protocolVersion });
      const seen = collect(browserDevice);
      await browserDevice.subscribeAsync(['lights/+']);
      const tcpDevice = await mqttClient(s.mqttUrl, { protocolVersion });
      const ds = await deepstream(s.url);
      const got: unknown[] = [];
      ds.event.subscribe('lights/switch', (d: unknown) => got.push(d));
      await new Promise((resolve) => setTimeout(resolve, 200));

      ds.event.emit('lights/kitchen', { on: true });
      await tcpDevice.publishAsync('lights/hall', 'off', { qos: 1 });
      await browserDevice.publishAsync('lights/switch', '{"all":false}', { qos: 1 });
      await until(() => seen.length === 2 && got.length === 1, 'events both ways');
      assert.deepEqual(seen.map((m) => [m.topic, m.payload]).sort(), [['lights/hall', 'off'], ['lights/kitchen', '{"on":true}']]);
      assert.deepEqual(got, [{ all: false }]);
    });
  }

  it('other upgrade paths are still cut', async () => {
    const s = await server({ plugins: [authOpen, events, mqtt.with({ port: 0, websocketPath: '/mqtt' })] });
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/elsewhere`);
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('refused'));
    });
    assert.equal(outcome, 'refused');
  });

  it('a path the deepstream endpoint already has is refused at start', async () => {
    await assert.rejects(server({ plugins: [authOpen, events, mqtt.with({ port: 0, websocketPath: '/deepstream' })] }), /DS_TOPIC_ALREADY_CLAIMED|already takes/);
  });
});
