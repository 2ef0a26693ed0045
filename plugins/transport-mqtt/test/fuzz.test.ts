/**
 * Fuzz: random bytes and mutated packets, before and after CONNECT, in both protocol versions,
 * against a server with events, records and Valve rules. After every run the server still logs no
 * error (no plugin failure, nothing reached the last-resort handler) and healthy MQTT and
 * deepstream clients still exchange events. Fixed seed: FUZZ_SEED=… to replay, FUZZ_RUNS for more.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import valve from '@deepstream-ts/plugin-permissions-valve';
import mqtt from '../src/index.ts';
import { RawMqtt, collect, deepstream, mqttClient, pause, server, until } from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

const topicArb = fc.oneof(fc.constantFrom('a', 'a/b', '#', '+', 'a/+/c', 'a/#', '', '$SYS/x', 'x\u0000y', 'secret/1'), fc.string({ maxLength: 20 }));
const payloadArb = fc.oneof(fc.constantFrom('', '{}', '[1]', '{"a":', 'null', '"s"', '1e999'), fc.string({ maxLength: 40 }));

/** A packet as a client could send it, well-formed, for mqtt-packet to generate. */
const packetArb: fc.Arbitrary<mqttPacket.Packet> = fc.oneof(
  fc.record({ topic: topicArb, payload: payloadArb, qos: fc.constantFrom(0, 1, 2), retain: fc.boolean(), id: fc.integer({ min: 1, max: 65535 }) }).map(
    ({ topic, payload, qos, retain, id }) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false, ...(qos > 0 ? { messageId: id } : {}) }) as mqttPacket.IPublishPacket,
  ),
  fc.array(topicArb, { minLength: 1, maxLength: 4 }).map((topics) => ({ cmd: 'subscribe', messageId: 7, subscriptions: topics.map((topic) => ({ topic, qos: 0 as const })) }) as mqttPacket.ISubscribePacket),
  fc.array(topicArb, { minLength: 1, maxLength: 3 }).map((topics) => ({ cmd: 'unsubscribe', messageId: 8, unsubscriptions: topics }) as mqttPacket.IUnsubscribePacket),
  fc.constantFrom<mqttPacket.Packet>({ cmd: 'pingreq' }, { cmd: 'pubrel', messageId: 3 }, { cmd: 'puback', messageId: 4 }, { cmd: 'disconnect' }),
);

/** One send: mostly a packet as generated (so that runs get past the first packet), else the same with a few bytes changed, or random bytes. */
const chunkArb = (version: 4 | 5) =>
  fc.oneof(
    { arbitrary: packetArb.map((p) => safeGenerate(p, version)), weight: 6 },
    fc.tuple(packetArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 })).map(([p, flips]) => {
      const bytes = Buffer.from(safeGenerate(p, version));
      for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
  );

function safeGenerate(packet: mqttPacket.Packet, version: 4 | 5): Buffer {
  try {
    return mqttPacket.generate(packet, { protocolVersion: version });
  } catch {
    return Buffer.from([0xe0, 0x00]); // a DISCONNECT, when the template cannot be generated
  }
}

const runArb = fc.constantFrom<4 | 5>(4, 5).chain((version) =>
  fc.record({ version: fc.constant(version), connect: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, fc.constant(false)), chunks: fc.array(chunkArb(version), { minLength: 1, maxLength: 8 }) }),
);

describe('MQTT fuzz', () => {
  it('random and mutated packets never hurt the server or other clients', { timeout: 110_000 }, async () => {
    const permissions = {
      event: { '*': { publish: true, subscribe: true, listen: true }, 'secret/*': { publish: false, subscribe: false, listen: true } },
      record: { '*': { create: true, read: true, write: true, delete: true, listen: true, notify: true } },
      rpc: { '*': { provide: true, request: true } },
      presence: { '*': { allow: true } },
    };
    const s = await server({ plugins: [authOpen, events, records, valve.with({ permissions }), mqtt.with({ port: 0, maxPacketSize: 4096 })] });
    const healthy = await mqttClient(s.mqttUrl, { protocolVersion: 5 });
    const seen = collect(healthy);
    await healthy.subscribeAsync('health/#');
    const ds = await deepstream(s.url);
    let round = 0;

    await fc.assert(
      fc.asyncProperty(runArb, async ({ version, connect, chunks }) => {
        const logged = s.logs.length;
        const attacker = connect ? await RawMqtt.connect(s.mqttPort, version) : await RawMqtt.open(s.mqttPort, version);
        for (const chunk of chunks) if (!attacker.closed) attacker.write(chunk);
        await pause(5);
        attacker.socket.destroy();
        const name = `health/${round++}`;
        ds.event.emit(name, round);
        await until(() => seen.some((m) => m.topic === name), `the healthy client to get ${name}`, 2000);
        const errors = s.logs.slice(logged).filter((l) => l.level >= 50);
        assert.deepEqual(errors, [], 'no error logged by the server');
      }),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: 90_000 },
    );
    assert.equal(s.kernel.sessions.authenticated >= 2, true);
  });
});
