import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import valve from '@deepstream-ts/plugin-permissions-valve';
import mqtt from '../src/index.ts';
import { RawMqtt, collect, deepstream, mosquittoPub, noMosquitto, mosquittoSub, mqttClient, passwordAuth, pause, refusedConnect, server, subscribeCodes, until } from './helpers.ts';

const endpoint = mqtt.with({ port: 0 });

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5'} next to deepstream clients`, () => {
    it('a PUBLISH is a deepstream event, and an emitted event reaches MQTT subscribers (JSON and text payloads)', async () => {
      const s = await server({ plugins: [authOpen, events, records, endpoint] });
      const ds = await deepstream(s.url, { username: 'dashboard' });
      const fromMqtt: unknown[] = [];
      ds.event.subscribe('sensors/1/temp', (data: unknown) => fromMqtt.push(data));
      await pause(200);

      const device = await mqttClient(s.mqttUrl, { protocolVersion });
      const seen = collect(device);
      await device.subscribeAsync('commands/1');
      await device.publishAsync('sensors/1/temp', '{"celsius":21.5}');
      await device.publishAsync('sensors/1/temp', 'warm');
      await device.publishAsync('sensors/1/temp', '');
      await until(() => fromMqtt.length === 3, 'three events at the deepstream client');
      assert.deepEqual(fromMqtt, [{ celsius: 21.5 }, 'warm', undefined]);

      ds.event.emit('commands/1', { on: true });
      ds.event.emit('commands/1', 'reboot');
      ds.event.emit('commands/1', 7);
      await until(() => seen.length === 3, 'three publishes at the device');
      assert.deepEqual(seen, [
        { topic: 'commands/1', payload: '{"on":true}', retain: false },
        { topic: 'commands/1', payload: 'reboot', retain: false },
        { topic: 'commands/1', payload: '7', retain: false },
      ]);
    });

    it('wildcard filters receive matching events from deepstream and MQTT publishers, once each', async () => {
      const s = await server({ plugins: [authOpen, events, records, endpoint] });
      const sub = await mqttClient(s.mqttUrl, { protocolVersion });
      const seen = collect(sub);
      const granted = await sub.subscribeAsync(['sensors/+/temp', 'sensors/#']);
      assert.deepEqual(granted.map((g) => g.qos), [0, 0]);
      const pub = await mqttClient(s.mqttUrl, { protocolVersion });
      const ds = await deepstream(s.url);

      ds.event.emit('sensors/7/temp', 20);
      await pub.publishAsync('sensors/8/humidity', '55');
      ds.event.emit('sensors', 'root of sensors/#');
      ds.event.emit('other/7/temp', 'not matched');
      await pub.publishAsync('sensorsX/1', 'not matched');
      await until(() => seen.length >= 3, 'three matching events');
      await pause(100);
      // Two publishers: their events are not ordered among each other.
      assert.deepEqual(seen.map((m) => [m.topic, m.payload]).sort(), [
        ['sensors', 'root of sensors/#'],
        ['sensors/7/temp', '20'],
        ['sensors/8/humidity', '55'],
      ]);

      // Like deepstream clients, a publisher does not get its own events back (MQTT 5's No Local, always).
      await sub.publishAsync('sensors/3/temp', 'my own');
      await pause(100);
      assert.equal(seen.length, 3);

      await sub.unsubscribeAsync('sensors/#');
      ds.event.emit('sensors/8/humidity', 'gone');
      ds.event.emit('sensors/9/temp', 'still');
      await until(() => seen.length === 4, 'the remaining filter');
      assert.deepEqual(seen[3], { topic: 'sensors/9/temp', payload: 'still', retain: false });
    });

    it('QoS 1 and 2 publishes are acknowledged once the event is accepted', async () => {
      const s = await server({ plugins: [authOpen, events, records, endpoint] });
      const ds = await deepstream(s.url);
      const got: unknown[] = [];
      ds.event.subscribe('q', (data: unknown) => got.push(data));
      await pause(200);
      const device = await mqttClient(s.mqttUrl, { protocolVersion });
      await device.publishAsync('q', '1', { qos: 1 });
      await device.publishAsync('q', '2', { qos: 2 });
      await until(() => got.length === 2, 'both events');
      assert.deepEqual(got, [1, 2]);
    });
  });
}

describe('MQTT logins', () => {
  it('CONNECT username and password go through the authentication chain', async () => {
    const s = await server({ plugins: [passwordAuth, events, endpoint] });
    const ok = await mqttClient(s.mqttUrl, { username: 'sensor-1', password: 'pw' });
    assert.equal(ok.connected, true);
    const v4 = await refusedConnect(s.mqttUrl, { username: 'sensor-1', password: 'wrong' });
    assert.equal(v4.code, 4, 'MQTT 3.1.1: bad user name or password');
    const v5 = await refusedConnect(s.mqttUrl, { username: 'sensor-1', password: 'wrong', protocolVersion: 5 });
    assert.equal(v5.code, 0x86, 'MQTT 5: Bad User Name or Password');
  });

  it('mosquitto_pub and mosquitto_sub talk to deepstream clients', { skip: noMosquitto }, async () => {
    const s = await server({ plugins: [passwordAuth, events, records, endpoint] });
    const ds = await deepstream(s.url, { username: 'dash', password: 'pw' });
    const got: unknown[] = [];
    ds.event.subscribe('plant/pump', (data: unknown) => got.push(data));
    await pause(200);
    const pub = await mosquittoPub(['-h', '127.0.0.1', '-p', String(s.mqttPort), '-u', 'dev', '-P', 'pw', '-t', 'plant/pump', '-m', '{"rpm":1200}', '-q', '1']);
    assert.equal(pub.code, 0, pub.stderr);
    await until(() => got.length === 1, 'the event from mosquitto_pub');
    assert.deepEqual(got, [{ rpm: 1200 }]);

    const refused = await mosquittoPub(['-h', '127.0.0.1', '-p', String(s.mqttPort), '-u', 'dev', '-P', 'nope', '-t', 'plant/pump', '-m', 'x']);
    assert.notEqual(refused.code, 0, 'a wrong password is refused');

    for (const version of ['mqttv311', 'mqttv5']) {
      const sub = mosquittoSub(['-h', '127.0.0.1', '-p', String(s.mqttPort), '-u', 'dev', '-P', 'pw', '-V', version, '-t', 'plant/#', '-v']);
      await pause(300);
      ds.event.emit(`plant/valve`, { open: version });
      await until(() => sub.lines.length === 1, `mosquitto_sub ${version} to receive the event`);
      assert.equal(sub.lines[0], `plant/valve {"open":"${version}"}`);
      sub.process.kill();
    }
  });
});

describe('MQTT permissions are the WebSocket permissions', () => {
  const permissions = {
    event: {
      '*': { publish: true, subscribe: true, listen: true },
      'secret/*': { publish: 'user.id === "admin"', subscribe: 'user.id === "admin"', listen: true },
      '#': { publish: true, subscribe: 'user.id === "admin"', listen: true },
    },
    record: { '*': { create: true, read: true, write: true, delete: true, listen: true, notify: true } },
    rpc: { '*': { provide: true, request: true } },
    presence: { '*': { allow: true } },
  };
  const config = () => ({ plugins: [authOpen, events, records, valve.with({ permissions }), endpoint] });

  for (const protocolVersion of [4, 5] as const) {
    it(`a denied event is denied for MQTT ${protocolVersion === 4 ? '3.1.1' : '5'} too, both ways; wildcards only carry permitted names`, async () => {
      const s = await server(config());
      const admin = await deepstream(s.url, { username: 'admin' });
      const adminGot: unknown[] = [];
      admin.event.subscribe('secret/plan', (d: unknown) => adminGot.push(d));
      await pause(200);

      const device = await mqttClient(s.mqttUrl, { protocolVersion, username: 'device' });
      const seen = collect(device);
      assert.deepEqual(
        await subscribeCodes(device, ['secret/plan', 'public', '#', '+/plan']),
        protocolVersion === 5 ? [0x87, 0, 0x87, 0] : [0x80, 0, 0x80, 0],
        'the rule for the filter decides, as it would for the same name from a deepstream client',
      );

      // QoS 0: dropped. QoS 1: MQTT 5 says "not authorized"; MQTT 3.1.1 has no negative ack, so the connection is closed.
      await device.publishAsync('secret/plan', 'qos0 leak');
      if (protocolVersion === 5) {
        await assert.rejects(device.publishAsync('secret/plan', 'qos1 leak', { qos: 1 }), /Not authorized|135/);
      }
      // Another admin emits: '+/plan' matches 'secret/plan', but the device may not subscribe to that name.
      const ds = await deepstream(s.url, { username: 'admin' });
      ds.event.emit('secret/plan', 'for admins only');
      ds.event.emit('public', 'hello');
      ds.event.emit('x/plan', 'through +/plan');
      await until(() => seen.length === 2, 'the permitted events');
      await pause(200);
      assert.deepEqual(seen.map((m) => m.topic), ['public', 'x/plan']);
      assert.deepEqual(adminGot, ['for admins only'], 'nothing the device published reached the admin');

      if (protocolVersion === 4) {
        const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
        device.publish('secret/plan', 'qos1 leak', { qos: 1 });
        await closed;
      }
      assert.equal(s.kernel.sessions.size >= 2, true, 'the server is up');
    });
  }
});

describe('MQTT QoS 2', () => {
  it('a resend before PUBREL is acknowledged again but delivered once', async () => {
    const s = await server({ plugins: [authOpen, events, endpoint] });
    const ds = await deepstream(s.url);
    const got: unknown[] = [];
    ds.event.subscribe('once', (d: unknown) => got.push(d));
    await pause(200);
    const raw = await RawMqtt.connect(s.mqttPort, 4);
    const publish = { cmd: 'publish', topic: 'once', payload: Buffer.from('1'), qos: 2, messageId: 5, retain: false, dup: false } as const;
    raw.send(publish);
    assert.equal((await raw.next('pubrec')).messageId, 5);
    raw.send({ ...publish, dup: true });
    assert.equal((await raw.next('pubrec')).messageId, 5);
    raw.send({ cmd: 'pubrel', messageId: 5 });
    assert.equal((await raw.next('pubcomp')).messageId, 5);
    await pause(200);
    assert.deepEqual(got, [1]);
  });
});
