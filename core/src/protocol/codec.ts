import { createRequire } from 'node:module';
import { TOPIC, type Message } from './messages.ts';

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
    try {
      const outer = envelope.decodeDelimited(frame);
      const type = topicTypes[outer.topic];
      if (type === undefined) return undefined;
      const inner = type.decode(outer.message);
      // Copy own properties only: protobufjs puts defaults (version 0, isAck false) on the
      // prototype, and an absent field must read as undefined.
      const message = Object.assign({ topic: outer.topic }, inner) as unknown as Message;
      return typeof message.action === 'number' ? message : undefined;
    } catch {
      return undefined;
    }
  },

  encode(message) {
    const type = topicTypes[message.topic];
    if (type === undefined) throw new TypeError(`cannot encode a message for topic ${message.topic}`);
    // protobufjs writes every own field that is not null/undefined, zeros included: the client
    // needs `version: 0` and `isWriteAck: false` on the wire.
    return envelope.encodeDelimited({ topic: message.topic, message: type.encode(message).finish() }).finish();
  },
};

/** Every topic, server-only ones included: for messages between cluster nodes, never for clients. */
const allTopicTypes: Array<ProtobufType | undefined> = [...topicTypes];
allTopicTypes[TOPIC.CLUSTER] = generated.ClusterMessage as ProtobufType;
allTopicTypes[TOPIC.LOCK] = generated.LockMessage as ProtobufType;
allTopicTypes[TOPIC.STATE_REGISTRY] = generated.StateMessage as ProtobufType;

/** The node-to-node codec: the same envelope, any topic. */
export const clusterCodec: Codec = {
  id: 'protobuf-cluster',
  decode(frame) {
    try {
      const outer = envelope.decodeDelimited(frame);
      const type = allTopicTypes[outer.topic];
      return type === undefined ? undefined : (Object.assign({ topic: outer.topic }, type.decode(outer.message)) as unknown as Message);
    } catch {
      return undefined;
    }
  },
  encode(message) {
    const type = allTopicTypes[message.topic];
    if (type === undefined) throw new TypeError(`cannot encode a message for topic ${message.topic}`);
    return envelope.encodeDelimited({ topic: message.topic, message: type.encode(message).finish() }).finish();
  },
};

/**
 * A message sent to many sessions (fan-out): encoded once per codec, on first use, then shared.
 * Treat `message` as frozen once the first session has sent it.
 */
export class SharedMessage {
  private codec: Codec | undefined;
  private bytes: Uint8Array | undefined;

  constructor(readonly message: Message) {}

  encodedFor(codec: Codec): Uint8Array {
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
