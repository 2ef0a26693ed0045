/**
 * The MQTT endpoint in a cluster: its clients are sessions like any other, so events and record
 * changes cross nodes exactly as they do for WebSocket clients: two nodes over cluster-memory, and
 * two over a real Redis (skipped with the reason when redis-server is missing).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import clusterRedis from '@deepstream-ts/cluster-redis';
import type { DeepstreamConfig } from '@deepstream-ts/core';
import { startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import transportMqtt from '@deepstream-ts/transport-mqtt';
import mqtt, { type MqttClient } from 'mqtt';
import { isSkip, startRedis } from './services/real-servers.ts';

const redisServer = await startRedis();

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mqttPortOf = (s: TestServer) => s.logs.find((l) => l.msg === 'MQTT endpoint listening')!.port as number;

describe('MQTT clients in a cluster', () => {
  const closers: Array<() => unknown> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
    if (!isSkip(redisServer)) await redisServer.stop();
  });

  it('events and record changes cross nodes between MQTT and deepstream clients, wildcards included (cluster-memory)', async () => {
    await exchange([authOpen, events, records, clusterMemory.with({ hub: new MemoryHub() }), transportMqtt.with({ port: 0 })]);
  });

  it('the same over Redis', { skip: isSkip(redisServer) ? redisServer.skip : false }, async () => {
    if (isSkip(redisServer)) return;
    await exchange([authOpen, events, records, clusterRedis.with({ url: redisServer.url, keepAliveInterval: 100, nodeTimeout: 1000 }), transportMqtt.with({ port: 0 })]);
  });

  async function exchange(plugins: DeepstreamConfig['plugins']): Promise<void> {
    const a = await startTestServer({ serverName: 'a', plugins });
    closers.push(() => a.stop());
    const b = await startTestServer({ serverName: 'b', plugins });
    closers.push(() => b.stop());

    const device: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPortOf(a)}`, { reconnectPeriod: 0, protocolVersion: 5 });
    closers.push(() => device.endAsync(true));
    const seen: Array<[string, string]> = [];
    device.on('message', (topic, payload) => seen.push([topic, payload.toString()]));
    await device.subscribeAsync(['cmd/+', 'settings']);

    const ds = new DeepstreamClient(b.url);
    closers.push(() => ds.close());
    await ds.login({ username: 'backend' });
    const got: unknown[] = [];
    ds.event.subscribe('telemetry/pump', (d: unknown) => got.push(d));
    const settings = ds.record.getRecord('settings');
    await settings.whenReady();
    await pause(300);

    ds.event.emit('cmd/start', { speed: 3 });
    settings.set({ mode: 'night' });
    await until(() => seen.length === 2, 'the event and the record change from node b');
    assert.deepEqual(seen.sort(), [
      ['cmd/start', '{"speed":3}'],
      ['settings', '{"mode":"night"}'],
    ]);

    await device.publishAsync('telemetry/pump', '{"rpm":900}', { qos: 1 });
    await until(() => got.length === 1, 'the MQTT publish on node b');
    assert.deepEqual(got, [{ rpm: 900 }]);
  }
});
