/**
 * fast-check arbitraries for the fuzz test: what a hostile client can put in a WebSocket frame.
 * Names, payloads and paths come mostly from small pools that the server's rules and other
 * messages of the same run also use (so that a subscribe meets an emit, a provide meets a request,
 * a rule meets the data it reads), mixed with random, huge and malformed values.
 *
 * The attacks of the hardening issue (KNOWN below) are generated too, since their fixes landed;
 * FUZZ_KNOWN (comma separated names, or `none`) narrows them when replaying one.
 */
import fc from 'fast-check';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
  binaryCodec,
  type Message,
} from '@deepstream-ts/core';

/** The attacks the hardening issue found and fixed; all on unless FUZZ_KNOWN names a subset (or `none`). */
export const KNOWN = {
  /** Record data nested over ~5,000 levels deep: stack overflow in the records write path (2,000 is on by default). */
  deepJson: 'deep-json',
  /** Record paths with many large indexes (`[100000][100000]…`): memory and time grow with their sum. */
  pathAmplification: 'path-amplification',
  /** Listen patterns like `.*.*.*.*.*.*.*.*!`: catastrophic backtracking on every subscription. */
  redos: 'redos',
  /** Names far over maxNameLength, and bulk messages of distinct record names beyond maxNamesPerMessage. */
  hugeNames: 'huge-names',
} as const;

const enabled = new Set((process.env.FUZZ_KNOWN ?? 'all').split(',').map((s) => s.trim()).filter(Boolean));
export const knownEnabled = (name: string) => enabled.has('all') || enabled.has(name);
export const enabledKnown = () => Object.values(KNOWN).filter(knownEnabled);

/** A frame as sent: binary bytes or a text frame. */
export type Frame = { kind: 'binary'; bytes: Uint8Array; label: string } | { kind: 'text'; text: string; label: string };

// ---------------------------------------------------------------------------------------------
// Values

/** Names the rules of server-child.ts and the other messages of a run also use. */
export const NAME_POOL = [
  'fuzz/a', 'fuzz/b', 'number', 'place/berlin', 'secret/x', 'chat/r/messages/1', 'inc/1', 'owned/fuzz', 'stock/1', 'item/1',
  'private/x', 'sum/1', 'full/x', 'admin/x', 'fuzz-rpc', 'fuzz',
];
const WEIRD_NAMES = [
  '', ' ', '*', '/', '//', '.', '..', '$', '$name', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString',
  'a\u0000b', '\ud800', '\udfff\ud800', '💥', 'a/../b', '%00', '\n', 'chat/*/messages/*', 'place/', 'place/$city',
];

const longString = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.constantFrom('a', '/', '*', 'é', '💥', 'chat/x/messages/')).map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)));

export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAME_POOL) },
  { weight: 2, arbitrary: fc.constantFrom(...WEIRD_NAMES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z$*.]{1,4}(\/[a-z0-9$*.]{0,4}){0,5}$/) },
  { weight: 1, arbitrary: knownEnabled(KNOWN.hugeNames) ? longString(1000, 64_000) : longString(100, 8000) },
);

export const namesArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 8, arbitrary: fc.array(nameArb, { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...NAME_POOL), { minLength: 100, maxLength: 1000 }) },
  {
    // Distinct names: each new record name costs a load, two permission checks and a create.
    weight: 1,
    arbitrary: fc
      .integer({ min: 50, max: knownEnabled(KNOWN.hugeNames) ? 12_000 : 300 })
      .map((n) => Array.from({ length: n }, (_, i) => `bulk/${i}`)),
  },
);

/** Brackets or objects nested `depth` deep, balanced or not. */
const nestedJson = (maxDepth: number) =>
  fc
    .tuple(fc.integer({ min: 2, max: maxDepth }), fc.constantFrom('array', 'object', 'mixed', 'unclosed'))
    .map(([depth, shape]) => {
      if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
      if (shape === 'object') return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      if (shape === 'mixed') return '{"a":['.repeat(depth) + '{}' + ']}'.repeat(depth);
      return '{"a":['.repeat(depth);
    });

const JSON_SNIPPETS = [
  '', ' ', 'undefined', 'null', 'true', '{', '[', '}', '{"a":', '"unterminated', 'NaN', 'Infinity', '1e999', '-0', '0x10',
  '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '[1,2,3]', '"text"', '{"a":1,"a":2}',
  '{"value":5}', '{"value":1e308}', '{"a":60,"b":60}', '{"itemId":"1"}', '{"stock":1}', '{"address":{"city":"berlin"}}',
  '{"text":"hi"}', '{"firstname":"a"}', '{"owner":"fuzz"}', '\ud800', '"\\ud800"', '{"a":"\\u0000"}',
];

export const dataArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JSON_SNIPPETS) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ value: v, a: v, owner: v })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: nestedJson(knownEnabled(KNOWN.deepJson) ? 20_000 : 2000) },
  { weight: 1, arbitrary: longString(1000, 100_000).map((s) => JSON.stringify(s)) },
);

const segment = fc.oneof(
  fc.constantFrom('a', 'b', 'value', 'owner', '__proto__', 'constructor', 'prototype', 'length', '0', ''),
  fc.string({ maxLength: 6 }),
);
const smallIndex = fc.oneof(fc.nat(20), fc.constantFrom(-1, 99_999, 100_000, 100_001, 2 ** 31, 2 ** 53), fc.integer());
/** Indexes of at most 1,000 but one, so that their sum stays small (see KNOWN.pathAmplification). */
const boundedPath = fc
  .array(fc.oneof(segment.map((s) => `.${s}`), smallIndex.map((i) => `[${i}]`)), { minLength: 1, maxLength: 8 })
  .map((parts) => {
    let large = 0;
    return parts
      .map((part) => {
        const index = /^\[(\d+)\]$/.exec(part);
        if (index !== null && Number(index[1]) > 1000 && Number(index[1]) <= 100_000 && large++ > 0) return '[7]';
        return part;
      })
      .join('')
      .replace(/^\./, '');
  });
const PATH_SNIPPETS = ['[', ']', 'a[', 'a]b', '[[1]]', 'a..b', '.a', 'a.', '[1e5]', '[0x10]', '[-1]', ' ', 'a[0].b[1].c', 'a.__proto__.x', '__proto__.polluted', 'constructor.prototype.polluted', 'a[100000][1].b'];

export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: boundedPath },
  { weight: 2, arbitrary: fc.constantFrom(...PATH_SNIPPETS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  ...(knownEnabled(KNOWN.pathAmplification)
    ? [{ weight: 1, arbitrary: fc.integer({ min: 2, max: 127 }).map((n) => `a${'[100000]'.repeat(n)}.b`) }]
    : []),
);

const SAFE_PATTERNS = ['fuzz/.*', '^fuzz', '.*', 'chat/[a-z]+/messages', '[', '(', '*', '\\', '(?<x>a)\\k<x>', '(a+)+$', '', 'a{1,100000}'];
const REDOS_PATTERNS = ['.*.*.*.*.*.*.*.*!', '.*.*.*.*.*.*.*.*.*.*.*.*.*.*$x', '(.*){1,32000}[bc]'];
export const patternArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SAFE_PATTERNS, ...(knownEnabled(KNOWN.redos) ? REDOS_PATTERNS : [])) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: nameArb },
);

const versionArb = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
  fc.integer(),
);
const correlationArb = fc.oneof(fc.constantFrom('1', '2', 'x', ''), fc.string({ maxLength: 10 }));
const int = fc.oneof(fc.integer({ min: -3, max: 130 }), fc.integer());

// ---------------------------------------------------------------------------------------------
// Messages

const numbers = (e: object) => Object.values(e).filter((v): v is number => typeof v === 'number');
const actionsByTopic: Record<number, number[]> = {
  [TOPIC.PARSER]: numbers(PARSER_ACTION),
  [TOPIC.CONNECTION]: numbers(CONNECTION_ACTION),
  [TOPIC.AUTH]: numbers(AUTH_ACTION),
  [TOPIC.EVENT]: numbers(EVENT_ACTION),
  [TOPIC.RECORD]: numbers(RECORD_ACTION),
  [TOPIC.RPC]: numbers(RPC_ACTION),
  [TOPIC.PRESENCE]: numbers(PRESENCE_ACTION),
  [TOPIC.MONITORING]: [0, 1, 2, 3],
};
const CLIENT_TOPICS = [TOPIC.EVENT, TOPIC.RECORD, TOPIC.RPC, TOPIC.PRESENCE];

const fieldsArb = fc.record(
  {
    name: nameArb,
    names: namesArb,
    data: dataArb,
    correlationId: correlationArb,
    path: pathArb,
    version: versionArb,
    isAck: fc.boolean(),
    isError: fc.boolean(),
    isWriteAck: fc.boolean(),
    subscription: fc.oneof(nameArb, patternArb),
    pattern: patternArb,
    originalTOPIC: int,
    originalAction: int,
    requestorName: nameArb,
    requestorData: dataArb,
    url: fc.oneof(fc.constant('ws://127.0.0.1/deepstream'), fc.string({ maxLength: 20 })),
    protocolVersion: fc.constantFrom('0.1a', '', '99', 'x'),
    sdkVersion: fc.string({ maxLength: 8 }),
    sdkType: fc.string({ maxLength: 8 }),
    versions: fc.dictionary(fc.constantFrom(...NAME_POOL), versionArb, { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

/** A message of a client-facing topic with a known or random action and any subset of fields. */
export const messageArb: fc.Arbitrary<Message> = fc
  .tuple(
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...CLIENT_TOPICS) }, { weight: 2, arbitrary: fc.constantFrom(TOPIC.PARSER, TOPIC.CONNECTION, TOPIC.AUTH, TOPIC.MONITORING) }),
    fc.oneof({ weight: 5, arbitrary: fc.nat() }, { weight: 1, arbitrary: int }),
    fieldsArb,
  )
  .map(([topic, pick, fields]) => {
    const known = actionsByTopic[topic]!;
    // A non-negative pick chooses a known action; the random ones keep their (possibly unknown) value.
    const action = pick >= 0 && pick < 1e9 ? known[pick % known.length]! : pick;
    return { topic, action, ...fields } as unknown as Message;
  });

const R = RECORD_ACTION;
const E = EVENT_ACTION;
const P = RPC_ACTION;
const Q = PRESENCE_ACTION;
const names = { names: namesArb };
const listenFields = { name: patternArb, subscription: nameArb };
/** What the official client sends, action by action: the fields each message carries. */
const TEMPLATES: Array<[topic: number, actions: number[], fields: Record<string, fc.Arbitrary<unknown>>]> = [
  [TOPIC.RECORD, [R.CREATEANDUPDATE, R.UPDATE], { name: nameArb, version: versionArb, data: dataArb, isWriteAck: fc.boolean(), correlationId: correlationArb }],
  [TOPIC.RECORD, [R.CREATEANDPATCH, R.PATCH], { name: nameArb, version: versionArb, path: pathArb, data: dataArb, isWriteAck: fc.boolean(), correlationId: correlationArb }],
  [TOPIC.RECORD, [R.ERASE], { name: nameArb, version: versionArb, path: pathArb, isWriteAck: fc.boolean(), correlationId: correlationArb }],
  [TOPIC.RECORD, [R.SUBSCRIBECREATEANDREAD, R.SUBSCRIBEANDREAD, R.SUBSCRIBEANDHEAD, R.UNSUBSCRIBE, R.HEAD_BULK, R.DELETE_BULK, R.NOTIFY], { ...names, correlationId: correlationArb }],
  [TOPIC.RECORD, [R.READ, R.HEAD, R.DELETE, R.SUBSCRIBECREATEANDUPDATE], { name: nameArb, correlationId: correlationArb, data: dataArb, version: versionArb }],
  [TOPIC.RECORD, [R.LISTEN, R.UNLISTEN, R.LISTEN_ACCEPT, R.LISTEN_REJECT], listenFields],
  [TOPIC.EVENT, [E.EMIT], { name: nameArb, data: dataArb }],
  [TOPIC.EVENT, [E.SUBSCRIBE, E.UNSUBSCRIBE], { ...names, correlationId: correlationArb }],
  [TOPIC.EVENT, [E.LISTEN, E.UNLISTEN, E.LISTEN_ACCEPT, E.LISTEN_REJECT], listenFields],
  [TOPIC.RPC, [P.PROVIDE, P.UNPROVIDE], { ...names, correlationId: correlationArb }],
  [TOPIC.RPC, [P.REQUEST, P.ACCEPT, P.RESPONSE, P.REJECT, P.REQUEST_ERROR], { name: nameArb, correlationId: correlationArb, data: dataArb }],
  [TOPIC.PRESENCE, [Q.SUBSCRIBE, Q.UNSUBSCRIBE, Q.QUERY], { ...names, correlationId: correlationArb }],
  [TOPIC.PRESENCE, [Q.SUBSCRIBE_ALL, Q.UNSUBSCRIBE_ALL, Q.QUERY_ALL], { correlationId: correlationArb }],
];

/** A message as the official client would send it, then perhaps one field replaced by anything. */
export const wellFormedArb: fc.Arbitrary<Message> = fc
  .tuple(
    fc.oneof(
      ...TEMPLATES.map(([topic, actions, fields]) =>
        fc.tuple(fc.constantFrom(...actions), fc.record(fields)).map(([action, values]) => ({ topic, action, ...values }) as unknown as Message),
      ),
    ),
    // Mostly unchanged; shrinks towards unchanged.
    fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fieldsArb }),
  )
  .map(([message, replaced]) => ({ ...message, ...replaced }) as Message);

/** The login messages, with random payloads, for connections that are not logged in yet. */
const handshakeArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ protocolVersion: fc.constantFrom('0.1a', '', '1'), url: fc.string({ maxLength: 10 }) }).map((f) => ({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, ...f }) as Message),
  dataArb.map((data) => ({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data }) as Message),
  fc.jsonValue({ maxDepth: 2 }).map((v) => ({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username: v, password: v }) }) as Message),
  fc.constant({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING } as Message),
);

// ---------------------------------------------------------------------------------------------
// Frames

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** The envelope of PROTOCOL §2 around `inner`, with any topic number. */
export function envelope(topic: number, inner: Uint8Array): Uint8Array {
  const body = [0x10, ...varint(topic), 0x1a, ...varint(inner.length)];
  const head = varint(body.length + inner.length);
  return Uint8Array.from([...head, ...body, ...inner]);
}

/** The inner message bytes of an encoded frame (its last `innerLength` bytes). */
function innerOf(frame: Uint8Array): Uint8Array {
  let at = 0;
  while (frame[at]! & 128) at++; // envelope length
  at += 2; // 0x10, topic (one byte for client topics)
  at++; // 0x1a
  while (frame[at]! & 128) at++;
  return frame.subarray(at + 1);
}

function encode(message: Message): Uint8Array | undefined {
  try {
    return binaryCodec.encode(message);
  } catch {
    return undefined; // protobufjs refuses some values (e.g. a number too large for its type): not sendable
  }
}

/** Frames print as their label and hex bytes (cut at 512), so that a counterexample can be replayed by hand. */
const SHOWN_BYTES = 512;
function showFrame(this: Frame): string {
  if (this.kind === 'text') return `text(${JSON.stringify(this.text.slice(0, SHOWN_BYTES))}${this.text.length > SHOWN_BYTES ? `…${this.text.length} chars` : ''})`;
  const hex = Buffer.from(this.bytes.subarray(0, SHOWN_BYTES)).toString('hex');
  return `binary(${JSON.stringify(this.label)}, ${this.bytes.length} bytes, hex ${hex}${this.bytes.length > SHOWN_BYTES ? '…' : ''})`;
}
const binary = (bytes: Uint8Array, label: string): Frame => ({ kind: 'binary', bytes, label, [fc.toStringMethod]: showFrame }) as Frame;
const text = (value: string): Frame => ({ kind: 'text', text: value, label: 'text frame', [fc.toStringMethod]: showFrame }) as Frame;
const describe = (m: Message) => `${m.topic}/${m.action}`;

const messageFrame = fc.oneof({ weight: 6, arbitrary: wellFormedArb }, { weight: 3, arbitrary: messageArb }, { weight: 2, arbitrary: handshakeArb }).map((m) => {
  const bytes = encode(m);
  return bytes === undefined ? binary(new Uint8Array([0]), 'unencodable') : binary(bytes, `message ${describe(m)}`);
});

type Mutation = { op: 'flip' | 'truncate' | 'insert' | 'duplicate'; at: number; bytes: Uint8Array };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('flip', 'truncate', 'insert', 'duplicate'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
});

function mutate(bytes: Uint8Array, { op, at, bytes: extra }: Mutation): Uint8Array {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  const out = Uint8Array.from(bytes);
  switch (op) {
    case 'flip':
      out[i] = out[i]! ^ (extra[0]! | 1);
      return out;
    case 'truncate':
      return out.subarray(0, i);
    case 'insert':
      return Uint8Array.from([...out.subarray(0, i), ...extra, ...out.subarray(i)]);
    case 'duplicate':
      return Uint8Array.from([...out, ...out]);
  }
}

const mutatedFrame = fc.tuple(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([m, mutations]) => {
  const bytes = encode(m) ?? new Uint8Array([1, 2, 3]);
  return binary(mutations.reduce(mutate, bytes), `mutated ${describe(m)} ${mutations.map((x) => x.op).join('+')}`);
});

/** A valid inner message under another topic number (server-only topics, unknown ones, huge ones). */
const retopicFrame = fc
  .tuple(messageArb, fc.oneof(fc.constantFrom(0, 9, 10, 11, 12, 100, 127, 128, 2 ** 31 - 1), fc.nat()))
  .map(([m, topic]) => binary(envelope(topic, innerOf(encode(m) ?? new Uint8Array([0x0a, 0]))), `topic ${topic} carrying ${describe(m)}`));

const concatFrame = fc.array(messageArb, { minLength: 2, maxLength: 4 }).map((ms) => {
  const parts = ms.map((m) => encode(m) ?? new Uint8Array());
  return binary(Uint8Array.from(parts.flatMap((p) => [...p])), `concatenated ${ms.map(describe).join(',')}`);
});

/** Frames around the 1 MB default maxMessageSize: the server must close with 1009, not buffer them. */
const bigFrame = fc.constantFrom(1024 * 1024 - 64, 1024 * 1024 + 1, 3 * 1024 * 1024).map((size) => {
  const inner = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'fuzz/a', data: JSON.stringify('x'.repeat(size)) });
  return binary(inner, `big ${size}`);
});

export const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 40, arbitrary: messageFrame },
  { weight: 12, arbitrary: mutatedFrame },
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => binary(bytes, 'random bytes')) },
  { weight: 4, arbitrary: retopicFrame },
  { weight: 4, arbitrary: concatFrame },
  { weight: 4, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.json()).map(text) },
  { weight: 1, arbitrary: fc.noShrink(bigFrame) },
);

/** How far a connection gets before it starts sending frames. */
export type Stage = 'open' | 'challenged' | 'loggedIn';

export interface Attack {
  stage: Stage;
  username: string;
  frames: Frame[];
  /** Close the socket right after the last frame, while the server may still be working on them. */
  closeAtOnce: boolean;
}

/** With KNOWN.redos: a listener with a backtracking pattern first, so that later subscriptions meet it. */
const redosListen = fc
  .tuple(fc.constantFrom(TOPIC.EVENT, TOPIC.RECORD), fc.constantFrom(...REDOS_PATTERNS))
  .map(([topic, name]) => binary(binaryCodec.encode({ topic, action: topic === TOPIC.EVENT ? E.LISTEN : R.LISTEN, name } as Message), `listen ${JSON.stringify(name)}`));
const framesArb = knownEnabled(KNOWN.redos)
  ? fc.tuple(fc.option(redosListen, { freq: 2 }), fc.array(frameArb, { minLength: 1, maxLength: 25 })).map(([listen, frames]) => (listen === null ? frames : [listen, ...frames]))
  : fc.array(frameArb, { minLength: 1, maxLength: 25 });

export const attackArb: fc.Arbitrary<Attack> = fc.record({
  stage: fc.oneof({ weight: 4, arbitrary: fc.constant<Stage>('loggedIn') }, { weight: 1, arbitrary: fc.constantFrom<Stage>('open', 'challenged') }),
  username: fc.oneof(fc.constantFrom('fuzz', 'backend', 'hidden', 'attacker'), fc.string({ maxLength: 10 })),
  frames: framesArb,
  closeAtOnce: fc.boolean(),
});

/** One run: a few connections attacking at once. */
export const batchArb: fc.Arbitrary<Attack[]> = fc.array(attackArb, { minLength: 1, maxLength: 3 });
