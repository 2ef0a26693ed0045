import { TOPIC } from './messages.ts';

/**
 * The client-facing protobuf fields of each topic's message type, shared by the one-pass encoder
 * (codec.ts) and decoder (fast-decode.ts): both must agree with protobufjs's generated code byte
 * for byte.
 */
export const Kind = {
  Int32: 0,
  String: 1,
  Bool: 2,
  /** repeated string, written when non-empty, no own-property check (as generated) */
  Strings: 3,
  /** map<string, int32>: left to protobufjs */
  Map: 4,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];
// Keys are the protobuf field names (`originalTOPIC`, `pattern`), not all of which the Message type names.
export type Field = readonly [key: string, tag: number, kind: Kind];
const I = Kind.Int32;
const S = Kind.String;
const B = Kind.Bool;

/** Fields in the order the generated encode functions write them, with their tags (id << 3 | wire type). */
export const fieldsByTopic: Array<readonly Field[] | undefined> = [];
fieldsByTopic[TOPIC.PARSER] = [['action', 8, I], ['data', 18, S], ['originalTOPIC', 64, I], ['originalAction', 72, I]];
fieldsByTopic[TOPIC.CONNECTION] = [
  ['action', 8, I], ['data', 18, S], ['isError', 24, B], ['isAck', 32, B],
  ['url', 42, S], ['protocolVersion', 50, S], ['sdkVersion', 58, S], ['sdkType', 66, S],
];
fieldsByTopic[TOPIC.AUTH] = [['action', 8, I], ['data', 18, S], ['isError', 24, B], ['isAck', 32, B]];
fieldsByTopic[TOPIC.EVENT] = [
  ['action', 8, I], ['data', 18, S], ['correlationId', 26, S], ['isError', 32, B], ['isAck', 40, B],
  ['name', 50, S], ['names', 58, Kind.Strings], ['subscription', 66, S], ['originalTOPIC', 80, I], ['originalAction', 88, I],
];
fieldsByTopic[TOPIC.RECORD] = [
  ['action', 8, I], ['data', 18, S], ['correlationId', 26, S], ['isError', 32, B], ['isAck', 40, B],
  ['name', 50, S], ['names', 58, Kind.Strings], ['pattern', 66, S], ['subscription', 74, S], ['originalAction', 80, I],
  ['isWriteAck', 88, B], ['path', 98, S], ['version', 104, I], ['versions', 114, Kind.Map],
];
fieldsByTopic[TOPIC.RPC] = [
  ['action', 8, I], ['data', 18, S], ['correlationId', 26, S], ['isError', 32, B], ['isAck', 40, B],
  ['names', 50, Kind.Strings], ['name', 58, S], ['originalAction', 72, I], ['requestorName', 82, S], ['requestorData', 90, S],
];
fieldsByTopic[TOPIC.PRESENCE] = [
  ['action', 8, I], ['originalTOPIC', 16, I], ['originalAction', 24, I], ['data', 34, S], ['correlationId', 42, S],
  ['isError', 48, B], ['isAck', 56, B], ['name', 66, S], ['names', 74, Kind.Strings],
];
fieldsByTopic[TOPIC.MONITORING] = [['action', 8, I], ['data', 18, S], ['correlationId', 26, S], ['isError', 32, B], ['isAck', 40, B]];

