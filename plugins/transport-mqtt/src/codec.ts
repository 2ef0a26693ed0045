import { EVENT_ACTION, RECORD_ACTION, TOPIC, type Codec, type Message } from '@deepstream-ts/core';
import { payloadOf } from './payload.ts';
import { invalidTopicName } from './topics.ts';

/**
 * A message handed between the MQTT connection and its session in memory: the connection turns
 * packets into messages itself, and translates most replies with per-connection state (packet
 * ids, pending acknowledgements). Zero bytes long; never written to a socket.
 */
export class MessageFrame extends Uint8Array {
  constructor(readonly message: Message) {
    super(0);
  }
}

export type ProtocolVersion = 4 | 5;

/**
 * The codec of MQTT connections of one protocol version. What fans out unchanged — an event, a
 * record's new value — becomes a QoS 0 PUBLISH here, so a `SharedMessage` is encoded once per
 * version and the same bytes go to every subscriber. Everything else stays a message
 * (`MessageFrame`) for the connection to translate.
 */
export function mqttCodec(version: ProtocolVersion): Codec {
  return {
    id: `mqtt${version}`,
    decode: (frame) => (frame instanceof MessageFrame ? frame.message : undefined),
    encode(message) {
      const { name } = message;
      if (name !== undefined && invalidTopicName(name) === undefined) {
        if (message.topic === TOPIC.EVENT && message.action === EVENT_ACTION.EMIT) return publishPacket(version, name, payloadOf(message.data), false);
        if (message.topic === TOPIC.RECORD && message.action === RECORD_ACTION.UPDATE && message.data !== undefined) {
          return publishPacket(version, name, Buffer.from(message.data, 'utf8'), false);
        }
      }
      return new MessageFrame(message);
    },
  };
}

export const CODECS = { 4: mqttCodec(4), 5: mqttCodec(5) } as const;

/** A QoS 0 PUBLISH (MQTT section 3.3): fixed header, topic, (MQTT 5: no properties), payload. */
export function publishPacket(version: ProtocolVersion, topic: string, payload: Buffer, retain: boolean): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const remaining = 2 + topicBytes + (version === 5 ? 1 : 0) + payload.length;
  const out = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
  out[0] = retain ? 0x31 : 0x30;
  let at = writeVarint(out, 1, remaining);
  out.writeUInt16BE(topicBytes, at);
  at += 2;
  at += out.write(topic, at, 'utf8');
  if (version === 5) out[at++] = 0;
  payload.copy(out, at);
  return out;
}

const varintSize = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);

function writeVarint(out: Buffer, at: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 128;
    out[at++] = byte;
  } while (n > 0);
  return at;
}
