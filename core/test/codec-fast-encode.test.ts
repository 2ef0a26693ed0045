/**
 * binaryCodec.encode writes client-facing messages with its own one-pass encoder: it must produce
 * exactly the bytes of the generated protobufjs code, for every topic, field and value shape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { binaryCodec, TOPIC, type Message } from '@deepstream-ts/core';
import { encodeWithProtobufjs, seeded, types } from './helpers/codec-differential.ts';

const reference = (message: Message): string => encodeWithProtobufjs(message).toString('hex');
const { random, pick } = seeded(0x2545f491);

const CHARS = ['a', 'Z', '0', ' ', '"', '{', '\u00e9', '\u07ff', '\u0800', '\u20ac', '\uffff', '\ud83d\ude00', '\ud800', '\udc00', '\u0000', '\u007f', '\u0080'];
function text(): string {
  const length = pick([0, 1, 5, 39, 40, 41, 42, 100, 127, 128, 129, 300, 5000]);
  let out = '';
  const ascii = random() < 0.5;
  while (out.length < length) out += ascii ? pick(['a', 'b', '{', '"', '1']) : pick(CHARS);
  return out;
}
const int = () => pick([0, 1, -1, 127, 128, 16383, 16384, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 5, 1e12, -1e12, 3.7, -3.7, NaN, Infinity, -0, Math.floor(random() * 1e6)]);

const STRING_FIELDS = ['data', 'correlationId', 'name', 'subscription', 'pattern', 'path', 'url', 'protocolVersion', 'sdkVersion', 'sdkType', 'requestorName', 'requestorData'];
const INT_FIELDS = ['action', 'originalAction', 'originalTOPIC', 'version'];
const BOOL_FIELDS = ['isError', 'isAck', 'isWriteAck'];

function randomMessage(topic: number): Message {
  const m: Record<string, unknown> = { topic };
  for (const key of STRING_FIELDS) if (random() < 0.4) m[key] = pick([text(), text(), null, undefined]);
  for (const key of INT_FIELDS) if (random() < 0.5) m[key] = pick([int(), int(), null]);
  for (const key of BOOL_FIELDS) if (random() < 0.4) m[key] = pick([true, false, 0, 1, 'x', null]);
  if (random() < 0.4) m.names = pick([[], [text()], [text(), text(), ''], null]);
  return m as unknown as Message;
}

describe('the binary codec fast encoder', () => {
  it('writes the bytes protobufjs writes, for random messages of every client-facing topic', () => {
    for (const topic of Object.keys(types).map(Number)) {
      for (let i = 0; i < 3000; i++) {
        const message = randomMessage(topic);
        assert.equal(Buffer.from(binaryCodec.encode(message)).toString('hex'), reference(message), `topic ${topic}: ${JSON.stringify(message).slice(0, 300)}`);
      }
    }
  });

  it('agrees on the shapes it hands back to protobufjs: maps, inherited fields, odd value types', () => {
    const inherited = Object.create({ name: 'from-prototype', version: 3 }) as Message;
    Object.assign(inherited, { topic: TOPIC.RECORD, action: 1 });
    const cases: Message[] = [
      { topic: TOPIC.RECORD, action: 1, name: 'r', versions: { a: 1, b: -2 } } as unknown as Message,
      inherited,
      { topic: TOPIC.EVENT, action: 2, name: 'e', data: 5 } as unknown as Message,
      { topic: TOPIC.EVENT, action: '3', name: 'e' } as unknown as Message,
      { topic: TOPIC.EVENT, action: 2, names: ['a', 5] } as unknown as Message,
      { topic: TOPIC.EVENT, action: 2, names: 'ab' } as unknown as Message,
    ];
    for (const message of cases) assert.equal(Buffer.from(binaryCodec.encode(message)).toString('hex'), reference(message), JSON.stringify(message));
  });

  it('encodes the common fan-out and RPC shapes as protobufjs does', () => {
    const cases: Message[] = [
      { topic: TOPIC.EVENT, action: 2, name: 'bench', data: JSON.stringify({ s: '0000000001', p: 'x'.repeat(60) }) },
      { topic: TOPIC.RECORD, action: 19, name: 'bench/record', version: 42, path: 'value', data: '{"a":1}' },
      { topic: TOPIC.RPC, action: 5, name: 'bench', correlationId: 'r17', data: 'x'.repeat(200) },
    ];
    for (const message of cases) assert.equal(Buffer.from(binaryCodec.encode(message)).toString('hex'), reference(message));
  });
});
