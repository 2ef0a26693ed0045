import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { binaryCodec, SharedMessage, CONNECTION_ACTION, RECORD_ACTION, TOPIC } from '@deepstream-ts/core';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('the binary codec', () => {
  it('encodes the worked examples of PROTOCOL §2.2 byte for byte', () => {
    assert.equal(hex(binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING })), '0610021a020802');
    assert.equal(hex(binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT })), '0610021a020804');
    assert.equal(hex(binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG })), '0610021a020803');
  });

  it('puts explicitly set default values on the wire (version 0, isWriteAck false)', () => {
    const bytes = binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.READ_RESPONSE, name: 'r', version: 0, isWriteAck: false });
    assert.ok(hex(bytes).includes('6800'), 'field 13 (version) = 0 is encoded');
    const decoded = binaryCodec.decode(bytes)!;
    assert.equal(decoded.version, 0);
    assert.equal(decoded.isWriteAck, false);
  });

  it('decodes absent fields as undefined, not as protobuf defaults', () => {
    const decoded = binaryCodec.decode(binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD, name: 'r' }))!;
    assert.equal(decoded.version, undefined);
    assert.equal(decoded.isAck, undefined);
    assert.equal(decoded.data, undefined);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });

  it('round-trips negative versions', () => {
    const decoded = binaryCodec.decode(binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name: 'r', version: -1, data: '{}' }))!;
    assert.equal(decoded.version, -1);
  });

  it('returns undefined for garbage, truncated frames and topics without a message type', () => {
    assert.equal(binaryCodec.decode(Buffer.from('not protobuf at all')), undefined);
    const valid = binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.READ, name: 'some/record' });
    assert.equal(binaryCodec.decode(valid.subarray(0, valid.length - 3)), undefined);
    assert.equal(binaryCodec.decode(new Uint8Array(0)), undefined);
    assert.equal(binaryCodec.decode(Buffer.from('0410091a00', 'hex')), undefined); // CLUSTER never comes from a client
  });

  it('reads only the first envelope of a frame', () => {
    const ping = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    const two = Buffer.concat([ping, binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.READ, name: 'x' })]);
    assert.deepEqual(binaryCodec.decode(two), { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  });
});

describe('shared messages', () => {
  it('are encoded once and the same bytes are reused for every recipient', () => {
    const shared = new SharedMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });
    const first = shared.encodedFor(binaryCodec);
    assert.equal(shared.encodedFor(binaryCodec), first);
    assert.equal(hex(first), '0610021a020803');
  });
});
