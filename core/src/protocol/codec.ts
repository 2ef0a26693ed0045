import { createRequire } from 'node:module';
import { TOPIC, type Message } from './messages.ts';
import { Kind, fieldsByTopic, type Field } from './fields.ts';
import { fastDecode, forwardableFrame } from './fast-decode.ts';

/** Turns one frame into one message and back. A transport owns exactly one codec. */
export interface Codec {
  /** A stable name, used to cache encodings of a shared message per codec. */
  readonly id: string;
  /** Returns `undefined` for bytes that are not a valid message; never throws. */
  decode(frame: Uint8Array): Message | undefined;
  encode(message: Message): Uint8Array;
}

interface ProtobufType {
  decode(reader: Uint8Array, length?: number): Record<string, unknown>;
  encode(message: object): { finish(): Uint8Array };
}
interface Envelope {
  topic: number;
  message: Uint8Array;
}
interface EnvelopeType {
  decodeDelimited(bytes: Uint8Array): Envelope;
  encodeDelimited(message: Envelope): { finish(): Uint8Array };
}

// The generated protobufjs classes ship without type declarations; we type the four calls we use.
const generated = createRequire(import.meta.url)('@deepstream/protobuf/dist/generated/protobuf.js') as Record<
  string,
  unknown
>;
const envelope = generated.Message as EnvelopeType;

/** Topic number → per-topic message type. Only client-facing topics: others never reach a socket. */
const topicTypes: Array<ProtobufType | undefined> = [];
topicTypes[TOPIC.PARSER] = generated.ParserMessage as ProtobufType;
topicTypes[TOPIC.CONNECTION] = generated.ConnectionMessage as ProtobufType;
topicTypes[TOPIC.AUTH] = generated.AuthMessage as ProtobufType;
topicTypes[TOPIC.EVENT] = generated.EventMessage as ProtobufType;
topicTypes[TOPIC.RECORD] = generated.RecordMessage as ProtobufType;
topicTypes[TOPIC.RPC] = generated.RpcMessage as ProtobufType;
topicTypes[TOPIC.PRESENCE] = generated.PresenceMessage as ProtobufType;
topicTypes[TOPIC.MONITORING] = generated.MonitoringMessage as ProtobufType;

/**
 * The v7 binary protocol: one length-delimited protobuf envelope per frame (PROTOCOL §2).
 * Only the first envelope of a frame is read, as the reference server does.
 */
export const binaryCodec: Codec = {
  id: 'protobuf',

  decode(frame) {
    // fastDecode takes the frames protobufjs itself writes (the official client's) and declines the rest.
    const message = fastDecode(frame) ?? decodeWith(topicTypes, frame);
    return typeof message?.action === 'number' ? message : undefined;
  },

  encode(message) {
    // fastEncode writes protobufjs's bytes in one pass; it declines (undefined) the rare messages
    // it does not cover.
    return fastEncode(message) ?? encodeWith(topicTypes, message);
  },
};

// ---------------------------------------------------------------------------------------------
// One-pass encoder for client-facing messages, byte for byte what the generated protobufjs code
// writes (field order, `!= null && own property` presence, int32 as `value | 0` with negatives in
// 10 bytes, bool as 0/1, strings as protobufjs's BufferWriter writes them), without its writer
// objects, per-field operations, intermediate buffer and second envelope pass.

const hasOwn = Object.prototype.hasOwnProperty;
/** Room for the envelope in front of the inner message: length (5) + topic tag and value (6) + message tag and length (6). */
const HEAD_ROOM = 17;
let scratch = Buffer.allocUnsafe(16 * 1024);

function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Unsigned varint of `value` (0 ≤ value < 2^32) at `at`; returns the position after it. */
function writeVarint32(buf: Buffer, at: number, value: number): number {
  while (value > 127) {
    buf[at++] = (value & 127) | 128;
    value >>>= 7;
  }
  buf[at] = value;
  return at + 1;
}

/** protobufjs Writer#int32: `value | 0`, negatives as the 10-byte varint of their 64-bit sign extension. */
function writeInt32(buf: Buffer, at: number, value: number): number {
  if (value >= 0) return writeVarint32(buf, at, value);
  let lo = value >>> 0;
  let hi = 0xffffffff;
  while (hi) {
    buf[at++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  return writeVarint32(buf, at, lo);
}

/** @protobufjs/utf8 write, which protobufjs uses for strings under 40 UTF-16 units (lone surrogates as 3 raw bytes). */
function writeShortUtf8(text: string, buf: Buffer, at: number): number {
  const start = at;
  for (let i = 0; i < text.length; ++i) {
    let c1 = text.charCodeAt(i);
    let c2: number;
    if (c1 < 128) {
      buf[at++] = c1;
    } else if (c1 < 2048) {
      buf[at++] = (c1 >> 6) | 192;
      buf[at++] = (c1 & 63) | 128;
    } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = text.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
      ++i;
      buf[at++] = (c1 >> 18) | 240;
      buf[at++] = ((c1 >> 12) & 63) | 128;
      buf[at++] = ((c1 >> 6) & 63) | 128;
      buf[at++] = (c1 & 63) | 128;
    } else {
      buf[at++] = (c1 >> 12) | 224;
      buf[at++] = ((c1 >> 6) & 63) | 128;
      buf[at++] = (c1 & 63) | 128;
    }
  }
  return at - start;
}

/** protobufjs BufferWriter#string at `at` (tag already written); returns the position after it. */
function writeString(buf: Buffer, at: number, text: string): number {
  const n = text.length;
  if (n === 0) {
    buf[at] = 0;
    return at + 1;
  }
  if (n < 0x80) {
    // Written one byte in, then moved up if the length needs a second byte (as protobufjs does).
    const length = n < 40 ? writeShortUtf8(text, buf, at + 1) : buf.write(text, at + 1, 'utf8');
    if (length > 127) {
      buf.copyWithin(at + 2, at + 1, at + 1 + length);
      writeVarint32(buf, at, length);
      return at + 2 + length;
    }
    buf[at] = length;
    return at + 1 + length;
  }
  const length = Buffer.byteLength(text);
  at = writeVarint32(buf, at, length);
  return at + buf.write(text, at, length, 'utf8');
}

/** Most bytes `text` can take as a field value: 3 per UTF-16 unit plus a 5-byte length. */
const maxStringBytes = (text: string) => 3 * text.length + 5;

/**
 * The frame protobufjs would produce for `message`, or undefined for what this does not cover:
 * values of unexpected types (protobufjs coerces or throws; it keeps doing so) and the record
 * `versions` map.
 */
function fastEncode(message: Message): Uint8Array | undefined {
  const fields = fieldsByTopic[message.topic];
  if (fields === undefined) return undefined;
  const record = message as unknown as Record<string, unknown>;
  // Pass 1: types, presence and an upper bound of the size.
  let bound = HEAD_ROOM;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f] as Field;
    const value = record[field[0]];
    if (value == null) continue;
    switch (field[2]) {
      case Kind.Int32:
        if (typeof value !== 'number' || !hasOwn.call(message, field[0])) return undefined;
        bound += 11;
        break;
      case Kind.String:
        if (typeof value !== 'string' || !hasOwn.call(message, field[0])) return undefined;
        bound += 1 + maxStringBytes(value);
        break;
      case Kind.Bool:
        if (!hasOwn.call(message, field[0])) return undefined;
        bound += 2;
        break;
      case Kind.Strings: {
        if (!Array.isArray(value)) return undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (typeof item !== 'string') return undefined;
          bound += 1 + maxStringBytes(item);
        }
        break;
      }
      default:
        return undefined;
    }
  }
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, 2 * scratch.length));
  const buf = scratch;
  // Pass 2: the inner message from HEAD_ROOM on.
  let at = HEAD_ROOM;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f] as Field;
    const value = record[field[0]];
    if (value == null) continue;
    switch (field[2]) {
      case Kind.Int32:
        buf[at++] = field[1];
        at = writeInt32(buf, at, (value as number) | 0);
        break;
      case Kind.String:
        buf[at++] = field[1];
        at = writeString(buf, at, value as string);
        break;
      case Kind.Bool:
        buf[at++] = field[1];
        buf[at++] = value ? 1 : 0;
        break;
      case Kind.Strings: {
        const items = value as string[];
        for (let i = 0; i < items.length; i++) {
          buf[at++] = field[1];
          at = writeString(buf, at, items[i] as string);
        }
        break;
      }
    }
  }
  // The envelope, right before the inner message: [length] 0x10 topic 0x1a [inner length] inner.
  const innerLength = at - HEAD_ROOM;
  const topic = message.topic | 0;
  if (topic < 0) return undefined;
  const envelopeLength = 1 + varint32Size(topic) + 1 + varint32Size(innerLength) + innerLength;
  const start = HEAD_ROOM - (envelopeLength - innerLength) - varint32Size(envelopeLength);
  let head = writeVarint32(buf, start, envelopeLength);
  buf[head++] = 0x10;
  head = writeVarint32(buf, head, topic);
  buf[head++] = 0x1a;
  writeVarint32(buf, head, innerLength);
  const out = Buffer.allocUnsafe(at - start);
  buf.copy(out, 0, start, at);
  return out;
}

/** Every topic, server-only ones included: for messages between cluster nodes, never for clients. */
const allTopicTypes: Array<ProtobufType | undefined> = [...topicTypes];
allTopicTypes[TOPIC.CLUSTER] = generated.ClusterMessage as ProtobufType;
allTopicTypes[TOPIC.LOCK] = generated.LockMessage as ProtobufType;
allTopicTypes[TOPIC.STATE_REGISTRY] = generated.StateMessage as ProtobufType;

/** The node-to-node codec: the same envelope, any topic. */
export const clusterCodec: Codec = {
  id: 'protobuf-cluster',
  decode: (frame) => decodeWith(allTopicTypes, frame),
  encode: (message) => encodeWith(allTopicTypes, message),
};

/** The first envelope of a frame, decoded with the given topic table; undefined when it is not one. */
function decodeWith(types: Array<ProtobufType | undefined>, frame: Uint8Array): Message | undefined {
  try {
    const outer = envelope.decodeDelimited(frame);
    const type = types[outer.topic];
    if (type === undefined) return undefined;
    // Copy own properties only: protobufjs puts defaults (version 0, isAck false) on the
    // prototype, and an absent field must read as undefined.
    return Object.assign({ topic: outer.topic }, type.decode(outer.message)) as unknown as Message;
  } catch {
    return undefined;
  }
}

/**
 * protobufjs writes every own field that is not null/undefined, zeros included: the client needs
 * `version: 0` and `isWriteAck: false` on the wire.
 */
function encodeWith(types: Array<ProtobufType | undefined>, message: Message): Uint8Array {
  const type = types[message.topic];
  if (type === undefined) throw new TypeError(`cannot encode a message for topic ${message.topic}`);
  return envelope.encodeDelimited({ topic: message.topic, message: type.encode(message).finish() }).finish();
}

/**
 * A message sent to many sessions (fan-out): encoded once per codec, on first use, then shared.
 * Treat `message` as frozen once the first session has sent it.
 */
export class SharedMessage {
  private codec: Codec | undefined;
  private bytes: Uint8Array | undefined;
  /** The client's own frame, for binary codec recipients (see `forwarding`); other codecs still get the slot above. */
  private forwarded: Uint8Array | undefined;

  constructor(readonly message: Message) {}

  /**
   * `message`, which repeats the fields of `received` (a message a client sent in this turn): when
   * the client's frame is exactly its encoding, that frame is sent as it is instead of encoding
   * it again (events to one subscriber each cost an encode per delivery otherwise).
   */
  static forwarding(message: Message, received: Message): SharedMessage {
    const shared = new SharedMessage(message);
    shared.forwarded = forwardableFrame(received, message);
    return shared;
  }

  encodedFor(codec: Codec): Uint8Array {
    if (this.forwarded !== undefined && codec === binaryCodec) return this.forwarded;
    if (this.codec === codec) return this.bytes as Uint8Array;
    const bytes = codec.encode(this.message);
    // One slot: nearly every deployment has a single codec; a second one re-encodes, still correct.
    if (this.codec === undefined) {
      this.codec = codec;
      this.bytes = bytes;
    }
    return bytes;
  }
}
