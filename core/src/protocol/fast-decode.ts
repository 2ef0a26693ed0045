import type { Message } from './messages.ts';
import { Kind, fieldsByTopic, type Field } from './fields.ts';

/**
 * One-pass decoder for the frames clients send. It gives exactly what protobufjs gives
 * (`decodeDelimited` of the envelope, the topic type's `decode`, own properties copied behind
 * `topic`: fields in wire order after the empty `names` / `versions` the generated constructors
 * set), but only for frames in the form protobufjs itself writes, which is what the official
 * client sends: the length prefix covering the whole frame, topic then message in the envelope,
 * known fields in declaration order, each once, with their own wire type, minimal varints,
 * non-negative int32s, bools as 0 or 1, no record `versions` map. For anything else it returns
 * undefined and protobufjs decodes the frame, as before.
 *
 * Such a frame is also, byte for byte, what `fastEncode` writes for the message, unless a string
 * was not valid UTF-8 (its decoding then holds U+FFFD, and re-encoding it gives other bytes). The
 * last frame decoded that way is remembered with the values it held, so that a handler that sends
 * the same fields on (an event emit to its subscribers) can send the client's bytes instead of
 * encoding them again: see `forwardableFrame`.
 */

/** Field number → its index in the topic's field list, per topic. */
const indexByNumber: Array<Int8Array | undefined> = fieldsByTopic.map((fields) => {
  if (fields === undefined) return undefined;
  const index = new Int8Array(32).fill(-1);
  fields.forEach((field, i) => (index[field[1] >>> 3] = i));
  return index;
});
/** The fields protobufjs's constructors create empty, in constructor order. */
const emptyByTopic: Array<readonly Field[] | undefined> = fieldsByTopic.map((fields) => fields?.filter((field) => field[2] === Kind.Strings || field[2] === Kind.Map));
/** The wire type each kind must arrive with: varint (0) or length-delimited (2). */
const WIRE_TYPE = [0, 2, 0, 2, 2] as const;

/** The last frame decoded here, when it re-encodes to itself, and the scalar values it held: bit i of `lastPresent` for field i. */
let lastMessage: Message | undefined;
let lastFrame: Uint8Array | undefined;
const lastValues: unknown[] = [];
let lastPresent = 0;

/** A minimal varint32 at `at` of `frame`, below 2^31; -1 when it is anything else. Sets `next`. */
let next = 0;
function readVarint(frame: Uint8Array, at: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 32 && at < end; shift += 7) {
    const byte = frame[at++] as number;
    value |= (byte & 127) << shift;
    if (byte < 128) {
      // Minimal: no trailing zero group (a lone 0 is fine); below 2^31 (int32 stays positive).
      if (byte === 0 && shift > 0) return -1;
      next = at;
      return value < 0 || shift === 28 && byte > 7 ? -1 : value;
    }
  }
  return -1;
}

/** The decoded message, or undefined when the frame is not in the form described above. */
export function fastDecode(frame: Uint8Array): Message | undefined {
  if (!(frame instanceof Buffer)) return undefined;
  lastMessage = undefined;
  const length = readVarint(frame, 0, frame.length);
  if (length < 0 || next + length !== frame.length || frame[next] !== 0x10) return undefined;
  const topic = readVarint(frame, next + 1, frame.length);
  const fields = fieldsByTopic[topic];
  if (topic < 0 || fields === undefined || frame[next] !== 0x1a) return undefined;
  const innerLength = readVarint(frame, next + 1, frame.length);
  if (innerLength < 0 || next + innerLength !== frame.length) return undefined;
  const index = indexByNumber[topic] as Int8Array;
  const message: Record<string, unknown> = { topic };
  const empty = emptyByTopic[topic] as readonly Field[];
  for (let i = 0; i < empty.length; i++) message[(empty[i] as Field)[0]] = (empty[i] as Field)[2] === Kind.Map ? {} : [];
  let at = next;
  let previous = -1;
  let reencodes = true;
  let present = 0;
  const end = frame.length;
  while (at < end) {
    const tag = frame[at++] as number;
    const i = tag < 128 ? (index[tag >>> 3] as number) : -1;
    if (i < 0) return undefined;
    const field = fields[i] as Field;
    const kind = field[2];
    if ((tag & 7) !== WIRE_TYPE[kind] || i < previous || (i === previous && kind !== Kind.Strings)) return undefined;
    previous = i;
    let value: unknown;
    if (kind === Kind.Int32 || kind === Kind.Bool) {
      const number = readVarint(frame, at, end);
      if (number < 0 || (kind === Kind.Bool && number > 1)) return undefined;
      at = next;
      value = kind === Kind.Bool ? number === 1 : number;
    } else if (kind === Kind.Map) {
      return undefined;
    } else {
      const bytes = readVarint(frame, at, end);
      if (bytes < 0 || next + bytes > end) return undefined;
      const text = (frame as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(next, next + bytes);
      at = next + bytes;
      if (reencodes && text.includes('\uFFFD')) reencodes = false;
      if (kind === Kind.Strings) {
        (message[field[0]] as string[]).push(text);
        reencodes = false; // not remembered: forwarding compares scalars only
        continue;
      }
      value = text;
    }
    message[field[0]] = value;
    lastValues[i] = value;
    present |= 1 << i;
  }
  if (typeof message.action !== 'number') return undefined;
  if (reencodes) {
    // Values of fields absent from this frame are stale: `forwardableFrame` checks presence first.
    lastMessage = message as unknown as Message;
    lastFrame = frame;
    lastPresent = present;
  }
  return message as unknown as Message;
}

/**
 * The frame `decoded` arrived in, when it is the last frame decoded, re-encodes to itself, and
 * `out` (a message about to be sent) has exactly its fields and values: sending the frame is then
 * the same as encoding `out`. Undefined otherwise; call it in the turn `decoded` arrived in.
 */
export function forwardableFrame(decoded: Message, out: Message): Uint8Array | undefined {
  if (decoded !== lastMessage || out.topic !== decoded.topic) return undefined;
  const fields = fieldsByTopic[out.topic] as readonly Field[];
  const record = out as unknown as Record<string, unknown>;
  for (let i = 0; i < fields.length; i++) {
    const [key, , kind] = fields[i] as Field;
    const value = record[key];
    if (kind === Kind.Strings || kind === Kind.Map) {
      // The remembered frame had none (or it would not be remembered); out must have none either.
      if (value != null && !(Array.isArray(value) && value.length === 0)) return undefined;
    } else if (value == null ? (lastPresent & (1 << i)) !== 0 : (lastPresent & (1 << i)) === 0 || lastValues[i] !== value) {
      return undefined;
    }
  }
  return lastFrame;
}
