/**
 * binaryCodec.decode reads the frames protobufjs writes with its own one-pass decoder and leaves
 * every other frame to protobufjs: either way the result must be exactly protobufjs's (values,
 * own properties, key order), for every topic, field shape and corrupted frame. A message that
 * forwards a client's fields may reuse the client's frame only when that frame is exactly its
 * encoding.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { binaryCodec, EVENT_ACTION, SharedMessage, TOPIC, type Message } from '@deepstream-ts/core';
import { encodeWithProtobufjs, generated, seeded, types } from './helpers/codec-differential.ts';

/** What protobufjs alone makes of a frame, as the codec did before (undefined: not a message). */
function reference(frame: Uint8Array): string | undefined {
  try {
    const outer = generated.Message!.decodeDelimited(frame);
    const type = generated[types[outer.topic] as string];
    if (type === undefined) return undefined;
    const message = Object.assign({ topic: outer.topic }, type.decode(outer.message));
    return typeof message.action === 'number' ? JSON.stringify([Object.keys(message), message]) : undefined;
  } catch {
    return undefined;
  }
}
function decoded(frame: Uint8Array): string | undefined {
  const message = binaryCodec.decode(frame);
  return message === undefined ? undefined : JSON.stringify([Object.keys(message), message]);
}

const { random, pick } = seeded(0x1f2e3d4c);
const CHARS = ['a', '"', '{', '\u00e9', '\u20ac', '\uffff', '\ufffd', '\ud83d\ude00', '\ud800', '\u0000'];
function text(): string {
  const length = pick([0, 1, 5, 39, 40, 127, 128, 300]);
  let out = '';
  while (out.length < length) out += random() < 0.5 ? pick(['a', '1', '{']) : pick(CHARS);
  return out;
}
function randomMessage(topic: number): Message {
  const m: Record<string, unknown> = { topic, action: pick([0, 1, 2, 127, 128, 300, 2 ** 31 - 1, -1]) };
  for (const key of ['data', 'correlationId', 'name', 'subscription', 'pattern', 'path', 'url', 'sdkType', 'requestorName']) if (random() < 0.4) m[key] = text();
  for (const key of ['originalAction', 'originalTOPIC', 'version']) if (random() < 0.4) m[key] = pick([0, 5, 200, 70000, -3]);
  for (const key of ['isError', 'isAck', 'isWriteAck']) if (random() < 0.3) m[key] = random() < 0.5;
  if (random() < 0.3) m.names = pick([[text()], [text(), '', text()]]);
  if (topic === TOPIC.RECORD && random() < 0.1) m.versions = { a: 1, b: 2 };
  return m as unknown as Message;
}

describe('the binary codec fast decoder', () => {
  it('decodes what protobufjs writes exactly as protobufjs does, for every topic', () => {
    for (let n = 0; n < 4000; n++) {
      const frame = encodeWithProtobufjs(randomMessage(pick(Object.keys(types).map(Number))));
      assert.equal(decoded(frame), reference(frame), `frame ${frame.toString('hex')}`);
    }
  });

  it('agrees with protobufjs on corrupted, truncated, extended and reordered frames', () => {
    for (let n = 0; n < 6000; n++) {
      const frame = Buffer.from(encodeWithProtobufjs(randomMessage(pick(Object.keys(types).map(Number)))));
      const how = n % 5;
      let bad: Buffer;
      if (how === 0) {
        bad = Buffer.from(frame);
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
      } else if (how === 1) bad = frame.subarray(0, Math.floor(random() * frame.length));
      else if (how === 2) bad = Buffer.concat([frame, Buffer.from([Math.floor(random() * 256), Math.floor(random() * 256)])]);
      else if (how === 3) {
        // An unknown field or a duplicate: a valid protobuf message protobufjs reads its own way.
        const outer = generated.Message!.decodeDelimited(frame);
        const extra = pick([Buffer.from([0x78, 0x01]), Buffer.from([0x08, 0x05]), Buffer.from([0x12, 0x01, 0x41]), Buffer.from([0x08, 0x80, 0x00])]);
        const inner = random() < 0.5 ? Buffer.concat([extra, Buffer.from(outer.message)]) : Buffer.concat([Buffer.from(outer.message), extra]);
        bad = Buffer.from(generated.Message!.encodeDelimited({ topic: outer.topic, message: inner }).finish());
      } else bad = Buffer.from(generated.Message!.encodeDelimited({ topic: frame[2]!, message: Buffer.from([0x32, 0x02, 0xc3, 0x28, 0x08, 0x02]) }).finish()); // invalid UTF-8, fields out of order
      assert.equal(decoded(bad), reference(bad), `frame ${bad.toString('hex')}`);
    }
  });

  it('forwards a client frame only when it is exactly the encoding of what is sent on', () => {
    const emit = (fields: Partial<Message>): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, ...fields }) as Message;
    const check = (sent: Message, out: Message, reused: boolean) => {
      const frame = encodeWithProtobufjs(sent);
      const received = binaryCodec.decode(frame)!;
      const shared = SharedMessage.forwarding(out, received);
      const bytes = shared.encodedFor(binaryCodec);
      assert.equal(bytes === frame, reused, `${JSON.stringify(sent)} → ${JSON.stringify(out)}`);
      assert.deepEqual(Buffer.from(bytes), Buffer.from(binaryCodec.encode(out)), 'the bytes are out\'s encoding either way');
    };
    check(emit({ name: 'a', data: '{"x":1}' }), emit({ name: 'a', data: '{"x":1}' }), true);
    check(emit({ name: 'a' }), emit({ name: 'a' }), true);
    check(emit({ name: 'a', data: '1', correlationId: 'c' }), emit({ name: 'a', data: '1' }), false); // a field left out
    check(emit({ name: 'a', data: '1' }), emit({ name: 'b', data: '1' }), false);
    check(emit({ name: 'a', data: '1' }), emit({ name: 'a', data: '2' }), false);
    check(emit({ name: 'a', data: '1' }), emit({ name: 'a', data: '1', isAck: true }), false);
    check(emit({ name: 'a', data: '\ufffd' }), emit({ name: 'a', data: '\ufffd' }), false); // a real U+FFFD is valid UTF-8 but not told apart from a replaced byte: re-encoded
    // Not the last frame decoded: another arrived since.
    const firstFrame = encodeWithProtobufjs(emit({ name: 'a', data: '1' }));
    const first = binaryCodec.decode(firstFrame)!;
    binaryCodec.decode(encodeWithProtobufjs(emit({ name: 'z', data: '9' })));
    const late = SharedMessage.forwarding(emit({ name: 'a', data: '1' }), first).encodedFor(binaryCodec);
    assert.notEqual(late, firstFrame);
    assert.deepEqual(Buffer.from(late), Buffer.from(binaryCodec.encode(emit({ name: 'a', data: '1' }))));
    // A frame with invalid UTF-8 is never forwarded: what the subscriber decodes is what the server checked.
    const invalid = Buffer.from(generated.Message!.encodeDelimited({ topic: TOPIC.EVENT, message: Buffer.from([0x08, 0x02, 0x12, 0x03, 0xe0, 0x80, 0xa2, 0x32, 0x01, 0x61]) }).finish());
    const message = binaryCodec.decode(invalid)!;
    const out = emit({ name: 'a', data: message.data! });
    assert.notEqual(SharedMessage.forwarding(out, message).encodedFor(binaryCodec), invalid);
  });
});
