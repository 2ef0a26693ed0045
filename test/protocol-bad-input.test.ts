/**
 * Byte-level bad input (PROTOCOL §1, §2, §5.6, §6.1). For every input we check that
 *   (a) the offending client gets exactly the reply the spec names (or is closed, with the code),
 *   (b) the server logs exactly one warn line for it, naming the offending session,
 *   (c) the server keeps running: a fresh client logs in and does an event round trip,
 *   (d) a bystander subscribed to an event receives nothing.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startTestServer, type LogLine, type TestServer } from '@deepstream-ts/core/testing';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  TOPIC,
  binaryCodec,
  type Message,
} from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

const MAX_MESSAGE_SIZE = 1024;
/** Time given to the server to log everything a bad input causes before the lines are counted. */
const SETTLE_MS = 80;
const QUIET_MS = 150;

const until = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The decoder gives repeated fields as `[]` even when absent (PROTOCOL §2.4), and an empty repeated
 * field is never encoded; drop them so that a reply compares as what was on the wire.
 */
function onTheWire(message: Message): Message {
  const copy: Record<string, unknown> = { ...message };
  for (const [key, value] of Object.entries(copy)) if (Array.isArray(value) && value.length === 0) delete copy[key];
  return copy as unknown as Message;
}

describe('bad input on the binary endpoint', () => {
  let server: TestServer;
  /** Logged in and subscribed to `watched` before any bad input: must never receive anything. */
  let watcher: RawClient;
  const clients: RawClient[] = [];
  let aliveCount = 0;

  function track(client: RawClient): RawClient {
    client.ws.on('error', () => undefined); // a reset must not crash the runner; `closed` reports it
    clients.push(client);
    return client;
  }

  const sessionIds = () => new Set([...server.kernel.sessions].map((s) => s.id));

  /** Opens a client (logged in or not) and returns it with the id of the session the server made for it. */
  async function open(login: boolean): Promise<{ client: RawClient; session: string }> {
    const known = sessionIds();
    const client = track(login ? await RawClient.login(server.url) : await RawClient.connect(server.url));
    const fresh = [...sessionIds()].filter((id) => !known.has(id));
    assert.equal(fresh.length, 1, `expected exactly one new session, got ${JSON.stringify(fresh)}`);
    return { client, session: fresh[0]! };
  }

  async function challenge(client: RawClient): Promise<void> {
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: server.url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
  }

  async function subscribe(client: RawClient, name: string, correlationId = '1'): Promise<void> {
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name], correlationId });
    const ack = await client.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
    assert.equal(ack.action, EVENT_ACTION.SUBSCRIBE);
    assert.equal(ack.correlationId, correlationId);
  }

  /** (b): after the bad input, exactly one more warn line, and it names the offending session. */
  async function expectOneWarning(warningsBefore: number, session: string): Promise<LogLine> {
    await until(SETTLE_MS);
    const added = server.warnings().slice(warningsBefore);
    assert.equal(added.length, 1, `expected exactly one warn line, got ${added.length}: ${JSON.stringify(added)}`);
    const line = added[0]!;
    assert.equal(line.level, 40, `expected warn level, got ${JSON.stringify(line)}`);
    assert.equal(line.session, session, `the warn line must name the session: ${JSON.stringify(line)}`);
    return line;
  }

  /** (c) and (d): a fresh client still logs in and round-trips an event; the watcher got nothing. */
  async function expectServerHealthy(): Promise<void> {
    const name = `alive/${aliveCount++}`;
    const check = async () => {
      const receiver = track(await RawClient.login(server.url));
      await subscribe(receiver, name);
      const sender = track(await RawClient.login(server.url));
      sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: '"still alive"' });
      const got = await receiver.next((m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT);
      assert.equal(got.name, name);
      assert.equal(got.data, '"still alive"');
      assert.equal(await sender.nothingWithin(50), true, 'the sender must not get its own emit back');
      receiver.close();
      sender.close();
    };
    const [quiet] = await Promise.all([watcher.nothingWithin(QUIET_MS), check()]);
    assert.equal(quiet, true, `the watcher received something: ${JSON.stringify(watcher.received)}`);
  }

  /** A reply from the server to the offender, and nothing else for a while. */
  async function expectOnlyReply(client: RawClient, expected: Message): Promise<void> {
    const reply = await client.next();
    assert.deepEqual(onTheWire(reply), expected);
    assert.equal(await client.nothingWithin(QUIET_MS), true, `unexpected extra messages: ${JSON.stringify(client.received)}`);
  }

  before(async () => {
    server = await startTestServer({ plugins: [authOpen, events], connection: { maxMessageSize: MAX_MESSAGE_SIZE } });
    watcher = await RawClient.login(server.url);
    watcher.ws.on('error', () => undefined);
    await subscribe(watcher, 'watched');
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    watcher.close();
    await server.stop();
  });

  it('garbage bytes after login: PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.sendRaw(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]));
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('garbage bytes before the challenge: CONNECTION INVALID_MESSAGE, and the socket stays usable', async () => {
    const { client, session } = await open(false);
    const warnings = server.warnings().length;
    client.sendRaw(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]));
    await expectOnlyReply(client, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.INVALID_MESSAGE });
    await expectOneWarning(warnings, session);
    // PROTOCOL §6.1: the state does not change; the handshake still works afterwards.
    await challenge(client);
    await expectServerHealthy();
  });

  it('a truncated protobuf frame after login: PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const whole = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['watched'], correlationId: '7' });
    assert.ok(binaryCodec.decode(whole) !== undefined, 'the untruncated frame decodes');
    const cut = whole.subarray(0, Math.ceil(whole.byteLength / 2));
    assert.equal(binaryCodec.decode(cut), undefined, 'the truncated frame does not decode');
    const warnings = server.warnings().length;
    client.sendRaw(cut);
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a text frame: closed (normal close, no deepstream message)', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.sendRaw('{"topic":4,"action":2,"name":"watched","data":"1"}');
    const { code } = await client.closed;
    assert.equal(code, 1005, 'a normal close without status (PROTOCOL §1.5)');
    assert.deepEqual(client.received, []);
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a text frame before the challenge: closed as well', async () => {
    const { client, session } = await open(false);
    const warnings = server.warnings().length;
    client.sendRaw('hello');
    const { code } = await client.closed;
    assert.equal(code, 1005);
    assert.deepEqual(client.received, []);
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('an oversized frame: closed with code 1009', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    // A valid EMIT to the watched event, just too big: it must never reach the watcher.
    const big = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'watched', data: JSON.stringify('x'.repeat(2 * MAX_MESSAGE_SIZE)) });
    assert.ok(big.byteLength > 2 * MAX_MESSAGE_SIZE);
    client.sendRaw(big);
    const { code } = await client.closed;
    assert.equal(code, 1009);
    assert.deepEqual(client.received, []);
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('2048 bytes of zeros in one frame: closed with code 1009', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.sendRaw(new Uint8Array(2048));
    const { code } = await client.closed;
    assert.equal(code, 1009);
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a frame of exactly maxMessageSize bytes is still accepted', async () => {
    const { client } = await open(true);
    const warnings = server.warnings().length;
    const overhead = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'other', data: '""' }).byteLength;
    // The varints grow by one byte each when the payload crosses 127 bytes; adjust until exact.
    let padding = MAX_MESSAGE_SIZE - overhead - 4;
    let frame = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'other', data: JSON.stringify('x'.repeat(padding)) });
    while (frame.byteLength < MAX_MESSAGE_SIZE) {
      padding++;
      frame = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'other', data: JSON.stringify('x'.repeat(padding)) });
    }
    assert.equal(frame.byteLength, MAX_MESSAGE_SIZE);
    client.sendRaw(frame);
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG);
    await until(SETTLE_MS);
    assert.deepEqual(server.warnings().slice(warnings), []);
  });

  it('topic MONITORING after login (no plugin owns it): PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.MONITORING, action: 1 as Message['action'] });
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('topic RECORD after login with no record plugin: PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.RECORD, action: 3 as Message['action'], name: 'watched' });
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a topic number nothing knows (42) after login: PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    // envelope: length 6, topic = 42, message = ConnectionMessage-shaped { action: 2 }
    client.sendRaw(Uint8Array.from([0x06, 0x10, 42, 0x1a, 0x02, 0x08, 0x02]));
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a CONNECTION action other than PING after login (a second CHALLENGE): PARSER UNKNOWN_TOPIC', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: server.url, protocolVersion: '0.1a' });
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('an unknown EVENT action (99): ignored without a reply, one warn line', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.EVENT, action: 99 as Message['action'], name: 'watched', data: '1' });
    assert.equal(await client.nothingWithin(QUIET_MS), true, `unexpected reply: ${JSON.stringify(client.received)}`);
    await expectOneWarning(warnings, session);
    // Still logged in and served.
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG);
    await expectServerHealthy();
  });

  it('a message before login: AUTH INVALID_MESSAGE, the socket stays open and login still works', async () => {
    const { client, session } = await open(false);
    await challenge(client);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['before-login'], correlationId: '1' });
    await expectOnlyReply(client, { topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE });
    await expectOneWarning(warnings, session);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' });
    const reply = await client.next((m) => m.topic === TOPIC.AUTH);
    assert.equal(reply.action, AUTH_ACTION.AUTH_SUCCESSFUL);
    // The refused subscription was not registered: an emit to that name never reaches it.
    const emitter = track(await RawClient.login(server.url));
    emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'before-login', data: '1' });
    assert.equal(await client.nothingWithin(100), true, `unexpected: ${JSON.stringify(client.received)}`);
    await expectServerHealthy();
  });

  it('a message before the challenge (EVENT SUBSCRIBE): CONNECTION INVALID_MESSAGE', async () => {
    const { client, session } = await open(false);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['watched'], correlationId: '1' });
    await expectOnlyReply(client, { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.INVALID_MESSAGE });
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a second CHALLENGE while awaiting auth: AUTH INVALID_MESSAGE, and login still works', async () => {
    const { client, session } = await open(false);
    await challenge(client);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: server.url, protocolVersion: '0.1a' });
    await expectOnlyReply(client, { topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE });
    await expectOneWarning(warnings, session);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' });
    assert.equal((await client.next()).action, AUTH_ACTION.AUTH_SUCCESSFUL);
    await expectServerHealthy();
  });

  it('an AUTH action other than REQUEST while awaiting auth: AUTH INVALID_MESSAGE_DATA, then closed', async () => {
    const { client, session } = await open(false);
    await challenge(client);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL, data: '{}' });
    const reply = await client.next();
    // The spec's `{originalAction}` cannot reach the wire: AuthMessage has no such field (PROTOCOL §2.3).
    assert.deepEqual(onTheWire(reply), { topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE_DATA });
    const { code } = await client.closed;
    assert.equal(code, 1005);
    assert.deepEqual(client.received, []);
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('invalid JSON in the auth data: AUTH INVALID_MESSAGE_DATA, then closed', async () => {
    const { client, session } = await open(false);
    await challenge(client);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username": "mallory", ' });
    const reply = await client.next();
    assert.equal(reply.topic, TOPIC.AUTH);
    assert.equal(reply.action, AUTH_ACTION.INVALID_MESSAGE_DATA);
    await client.closed;
    assert.deepEqual(client.received, [], 'nothing after INVALID_MESSAGE_DATA');
    const line = await expectOneWarning(warnings, session);
    assert.ok(!JSON.stringify(line).includes('mallory'), 'auth data must never be logged');
    await expectServerHealthy();
  });

  it('auth data that is valid JSON but not an object ("5"): AUTH INVALID_MESSAGE_DATA, then closed', async () => {
    const { client, session } = await open(false);
    await challenge(client);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '5' });
    const reply = await client.next();
    assert.equal(reply.action, AUTH_ACTION.INVALID_MESSAGE_DATA);
    await client.closed;
    await expectOneWarning(warnings, session);
    await expectServerHealthy();
  });

  it('a second login on an authenticated socket: PARSER UNKNOWN_TOPIC (PROTOCOL §5.6)', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"someone-else"}' });
    await expectOnlyReply(client, { topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });
    await expectOneWarning(warnings, session);
    // The socket is still logged in as before.
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG);
    const user = [...server.kernel.sessions].find((s) => s.id === session)?.userId;
    assert.equal(user, 'open');
    await expectServerHealthy();
  });

  it('an EMIT whose data is not JSON: EVENT INVALID_MESSAGE_DATA to the sender only', async () => {
    const { client, session } = await open(true);
    const warnings = server.warnings().length;
    client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'watched', data: '{not json' });
    await expectOnlyReply(client, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.INVALID_MESSAGE_DATA,
      originalAction: EVENT_ACTION.EMIT,
      name: 'watched',
      isError: true,
    });
    await expectOneWarning(warnings, session);
    // expectServerHealthy also checks that the watcher (subscribed to `watched`) received nothing.
    await expectServerHealthy();
  });
});
