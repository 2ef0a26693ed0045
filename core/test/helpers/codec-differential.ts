/**
 * Shared by the codec's differential tests (codec-fast-encode, codec-fast-decode): the generated
 * protobufjs code that binaryCodec must agree with, and a seeded PRNG for the random messages.
 */
import { createRequire } from 'node:module';
import { TOPIC, type Message } from '@deepstream-ts/core';

interface Type {
  decode(bytes: Uint8Array): Record<string, unknown>;
  encode(m: object): { finish(): Uint8Array };
  decodeDelimited(bytes: Uint8Array): { topic: number; message: Uint8Array };
  encodeDelimited(m: object): { finish(): Uint8Array };
}
export const generated = createRequire(import.meta.url)('@deepstream/protobuf/dist/generated/protobuf.js') as Record<string, Type>;

/** The generated message type of each client-facing topic. */
export const types: Record<number, string> = {
  [TOPIC.PARSER]: 'ParserMessage',
  [TOPIC.CONNECTION]: 'ConnectionMessage',
  [TOPIC.AUTH]: 'AuthMessage',
  [TOPIC.EVENT]: 'EventMessage',
  [TOPIC.RECORD]: 'RecordMessage',
  [TOPIC.RPC]: 'RpcMessage',
  [TOPIC.PRESENCE]: 'PresenceMessage',
  [TOPIC.MONITORING]: 'MonitoringMessage',
};

/** The frame protobufjs alone writes for `m`: the reference bytes. */
export const encodeWithProtobufjs = (m: Message) =>
  Buffer.from(generated.Message!.encodeDelimited({ topic: m.topic, message: generated[types[m.topic] as string]!.encode(m).finish() }).finish());

/** A small deterministic PRNG (xorshift32), so a failure reproduces; each suite has its own seed. */
export function seeded(seed: number): { random: () => number; pick: <T>(values: readonly T[]) => T } {
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  return { random, pick: (values) => values[Math.floor(random() * values.length)]! };
}
