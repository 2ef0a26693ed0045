import type { Duplex } from 'node:stream';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  RECORD_ACTION,
  TOPIC,
  type AuthorizationVerdict,
  type Codec,
  type Logger,
  type Connection,
  type ConnectionInfo,
  type Message,
  type Session,
  type SharedMessage,
} from '@deepstream-ts/core';
import mqtt from 'mqtt-packet';
import { CODECS, MessageFrame, publishPacket, type ProtocolVersion } from './codec.ts';
import { dataOf, isRecordData, payloadOf } from './payload.ts';
import { RC, V4_CONNACK, V4_SUBACK_FAILURE } from './reason-codes.ts';
import { RecordFollower } from './record-follower.ts';
import { isRefusal, reasonFor } from './refusals.ts';
import { WildcardPermits } from './wildcard-permits.ts';
import { invalidTopicFilter, invalidTopicName, isWildcard } from './topics.ts';

/** What a connection needs from its transport; one object for all connections. */
export interface MqttEnvironment {
  readonly maxPacketSize: number;
  readonly records: boolean;
  /** QoS 1 and 2 publishes one client may have unacknowledged (MQTT 5 Receive Maximum). */
  readonly receiveMaximum: number;
  readonly log: Logger;
  /** Asks permission to receive `name` through a wildcard subscription (event `subscribe`). */
  authorize(session: Session, message: Message, name: string): AuthorizationVerdict | Promise<AuthorizationVerdict>;
  /** Wildcard filters: held in the transport's tree. */
  addFilter(filter: string, connection: MqttConnection): void;
  removeFilter(filter: string, connection: MqttConnection): void;
  /** Seconds a session outlives its connection at most (0: every session is clean). */
  readonly maxSessionExpiry: number;
  /**
   * A client logged in with this id: an older connection with it is taken over. Returns the
   * filters of the session it resumes (none with clean start, or when there is no session).
   */
  claimClientId(clientId: string, connection: MqttConnection, cleanStart: boolean): string[] | undefined;
  releaseClientId(clientId: string, connection: MqttConnection): void;
  /** Keeps a session's filters for `expiry` seconds after its connection ended. */
  storeSession(clientId: string, filters: string[], expiry: number): void;
  closed(connection: MqttConnection): void;
}

const enum State {
  AwaitingConnect,
  Authenticating,
  Open,
  Closed,
}

/** One QoS 1/2 publish, or one SUBSCRIBE, waiting for the kernel's answer before it is acknowledged. */
interface Pending {
  readonly kind: 'publish' | 'subscribe';
  readonly packetId: number;
  readonly qos: number;
  /** Correlation ids of the messages this packet became, and those still unanswered. */
  readonly ids: string[];
  readonly waiting: Set<string>;
  /** Messages still being handled (a topic handler's promise). */
  handling: number;
  /** Per correlation id: the refusal the kernel sent, if any. */
  readonly failures: Map<string, Message>;
  /** A resumed session's subscriptions: held again without a SUBACK. */
  readonly silent?: boolean;
  /** SUBSCRIBE: the filters, in order, with their correlation ids (undefined: refused here with `code`). */
  readonly filters?: Array<{ filter: string; correlationId: string | undefined; code: number; retainHandling: number }>;
}

let nextClientNumber = 0;

/**
 * One MQTT client, as a kernel `Connection`: packets become the v7 messages the router handles
 * (CONNECT → CHALLENGE + AUTH REQUEST, PUBLISH → EVENT EMIT or a RECORD write, SUBSCRIBE → EVENT
 * and RECORD subscriptions), so login, permissions, limits and every feature plugin treat it as
 * they treat a WebSocket client. Replies come back through `send` and become CONNACK, PUBACK,
 * SUBACK or PUBLISH.
 */
export class MqttConnection implements Connection {
  readonly info: ConnectionInfo;
  session!: Session;
  version: ProtocolVersion = 4;
  clientId = '';
  /** Milliseconds timestamp of the last packet, for keep-alive and the CONNECT timeout. */
  lastPacket = Date.now();
  readonly openedAt = Date.now();
  /** Seconds; 0 = no keep-alive. */
  keepAlive = 0;
  /** The last event delivered through a wildcard filter: overlapping filters deliver once. */
  lastWildcardDelivery: SharedMessage | undefined;

  private state = State.AwaitingConnect;
  private readonly parser = mqtt.parser({ protocolVersion: 4 });
  private will: mqtt.IConnectPacket['will'];
  private nextCorrelation = 0;
  /** Acknowledgements leave in the order their packets came (MQTT section 4.6). */
  private readonly pending: Pending[] = [];
  private readonly byCorrelation = new Map<string, Pending>();
  /** The message being handed to the session right now: kernel replies sent meanwhile without a correlation id belong to it. */
  private current: { entry: Pending; correlationId: string } | undefined;
  /** Packets that came after CONNECT, before its answer (allowed by MQTT section 3.1.4); handled once logged in. */
  private early: mqtt.Packet[] | undefined;
  private assignedClientId: string | undefined;
  /** MQTT 3.1.1 Clean Session, MQTT 5 Clean Start. */
  private cleanStart = true;
  /** Seconds the session outlives the connection (0: it ends with it). */
  private sessionExpiry = 0;
  /** False once a newer connection with this client id took the session over. */
  private keepSession = true;
  /** MQTT 5 CONNECT's Maximum Packet Size: the largest packet the client takes. */
  private clientMaximumPacketSize = Number.POSITIVE_INFINITY;
  /** QoS 2 publishes received and acknowledged with PUBREC, awaiting PUBREL: a resend is not delivered twice. */
  private readonly awaitingRelease = new Set<number>();
  /** Topic filters held, and whether each is a wildcard. */
  readonly filters = new Map<string, boolean>();
  /** The records of exact filters. */
  private readonly records: RecordFollower;
  /** Who may receive which name through wildcard filters. */
  private readonly permits: WildcardPermits;
  private corked = false;

  /** `socket`: a TCP or TLS socket, or a WebSocket as a stream (MQTT over WebSocket). */
  constructor(
    private readonly socket: Duplex,
    private readonly env: MqttEnvironment,
    info: ConnectionInfo,
  ) {
    this.info = info;
    this.records = new RecordFollower({
      deliver: (message) => void this.deliver(message),
      publish: (name, data, retain) => this.send(publishPacket(this.version, name, data === undefined ? payloadOf(undefined) : Buffer.from(data, 'utf8'), retain)),
      warn: (what, details) => this.session.warn(what, details),
    });
    this.permits = new WildcardPermits((session, message, name) => env.authorize(session, message, name));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows; nothing to add
    socket.on('close', () => this.onClose());
    this.parser.on('packet', (packet: mqtt.Packet) => this.onPacket(packet));
    this.parser.on('error', (error: Error) => this.protocolError(RC.MALFORMED_PACKET, `malformed packet: ${error.message}`));
  }

  get codec(): Codec {
    return CODECS[this.version];
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  get awaitingConnect(): boolean {
    return this.state === State.AwaitingConnect;
  }

  // ---- Connection (the kernel's side) ------------------------------------------------------

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  send(frame: Uint8Array): void {
    if (frame instanceof MessageFrame) return this.reply(frame.message);
    // MQTT 5: a packet larger than the client said it takes is left out, not sent (section 3.1.2.11.4).
    if (frame.byteLength > this.clientMaximumPacketSize) return;
    this.write(frame);
  }

  close(): void {
    this.end();
  }

  terminate(): void {
    this.state = State.Closed;
    this.socket.destroy();
  }

  // ---- the session: starts at socket open, so the connection limits apply from the first byte --

  start(session: Session): void {
    this.session = session;
    this.deliver({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
  }

  /** Hands one message to the session; returns its topic handler's pending work, if any. */
  private deliver(message: Message): void | Promise<void> {
    return this.session.receive(new MessageFrame(message));
  }

  // ---- inbound -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === State.Closed) return;
    this.lastPacket = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (error) {
      // A bug of ours or the parser's must cost this client its connection, never the server.
      this.env.log.error({ err: error, session: this.session.id }, 'MQTT packet handling failed');
      return this.protocolError(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'packet handling failed');
    }
    // mqtt-packet buffers a packet until it is whole: the announced length is checked first.
    const parser = this.parser as unknown as { packet: { length: number }; _list: { length: number } };
    if ((this.state as State) !== State.Closed && (parser.packet.length > this.env.maxPacketSize || parser._list.length > this.env.maxPacketSize)) this.tooLarge();
  }

  private tooLarge(): void {
    this.protocolError(RC.PACKET_TOO_LARGE, `packet larger than maxPacketSize (${this.env.maxPacketSize} bytes)`);
  }

  private onPacket(packet: mqtt.Packet): void {
    if (this.state === State.Closed) return;
    if ((packet.length ?? 0) > this.env.maxPacketSize) return this.tooLarge();
    if (this.state === State.AwaitingConnect) {
      if (packet.cmd !== 'connect') return this.protocolError(RC.PROTOCOL_ERROR, `${packet.cmd} before CONNECT`);
      return this.onConnect(packet);
    }
    if (this.state === State.Authenticating) {
      const early = (this.early ??= []);
      if (early.length >= MAX_EARLY_PACKETS) return this.protocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, `more than ${MAX_EARLY_PACKETS} packets before CONNACK`);
      return void early.push(packet);
    }
    switch (packet.cmd) {
      case 'publish':
        return this.onPublish(packet);
      case 'pubrel':
        this.awaitingRelease.delete(packet.messageId as number);
        return this.write(mqtt.generate({ cmd: 'pubcomp', messageId: packet.messageId as number }, { protocolVersion: this.version }));
      case 'subscribe':
        return this.onSubscribe(packet);
      case 'unsubscribe':
        return this.onUnsubscribe(packet);
      case 'pingreq':
        return this.write(PINGRESP);
      case 'disconnect':
        // MQTT 5 reason 0x04: disconnect, but publish the will all the same.
        if (packet.reasonCode !== 0x04) this.will = undefined;
        return this.end();
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        return; // we only ever publish at QoS 0: nothing to acknowledge
      case 'connect':
        return this.protocolError(RC.PROTOCOL_ERROR, 'second CONNECT');
      default:
        return this.protocolError(RC.PROTOCOL_ERROR, `unexpected ${packet.cmd} packet`);
    }
  }

  private onConnect(packet: mqtt.IConnectPacket): void {
    const version = packet.protocolVersion;
    if (version !== 4 && version !== 5) {
      // MQTT 3.1 (and older): CONNACK "unacceptable protocol version", in 3.1.1's format.
      this.write(mqtt.generate({ cmd: 'connack', returnCode: V4_CONNACK.UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false }));
      return this.end();
    }
    this.version = version;
    (this.parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
    if (version === 5 && packet.properties?.authenticationMethod !== undefined) {
      return this.refuseConnect(RC.BAD_AUTHENTICATION_METHOD, V4_CONNACK.NOT_AUTHORIZED, 'enhanced authentication is not supported');
    }
    if (packet.will !== undefined && packet.will !== null) {
      const why = invalidTopicName(packet.will.topic);
      if (why !== undefined) return this.refuseConnect(RC.TOPIC_NAME_INVALID, V4_CONNACK.NOT_AUTHORIZED, `will: ${why}`);
      this.will = packet.will;
    }
    let clientId = packet.clientId;
    if (clientId === '') {
      // MQTT 3.1.1 section 3.1.3.1: an empty id needs a clean session.
      if (version === 4 && packet.clean === false) return this.refuseConnect(RC.CLIENT_IDENTIFIER_NOT_VALID, V4_CONNACK.IDENTIFIER_REJECTED, 'empty client id without clean session');
      clientId = `ds-mqtt-${process.pid.toString(36)}-${(nextClientNumber++).toString(36)}`;
      this.assignedClientId = clientId;
    }
    this.clientId = clientId;
    this.keepAlive = packet.keepalive ?? 0;
    this.cleanStart = packet.clean !== false;
    // MQTT 3.1.1: a persistent session never expires by the book; here it lasts maxSessionExpiry.
    const requested = version === 4 ? (this.cleanStart ? 0 : Number.POSITIVE_INFINITY) : (packet.properties?.sessionExpiryInterval ?? 0);
    this.sessionExpiry = Math.min(requested, this.env.maxSessionExpiry);
    const maximumPacketSize = packet.properties?.maximumPacketSize;
    if (maximumPacketSize !== undefined && maximumPacketSize > 0) this.clientMaximumPacketSize = maximumPacketSize;
    this.state = State.Authenticating;
    const authData: { username?: string; password?: string } = {};
    if (packet.username !== undefined) authData.username = packet.username;
    if (packet.password !== undefined) authData.password = packet.password.toString('utf8');
    this.deliver({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
  }

  private refuseConnect(v5: number, v4: number, why: string): void {
    this.session.warn(`MQTT CONNECT refused: ${why}`);
    this.write(mqtt.generate({ cmd: 'connack', sessionPresent: false, ...(this.version === 5 ? { reasonCode: v5 } : { returnCode: v4 }) }, { protocolVersion: this.version }));
    this.end();
  }

  private onPublish(packet: mqtt.IPublishPacket): void {
    const { topic, qos, messageId } = packet;
    if (packet.properties?.topicAlias !== undefined) return this.protocolError(RC.TOPIC_ALIAS_INVALID, 'topic aliases are not supported (Topic Alias Maximum is 0)');
    const invalid = invalidTopicName(topic);
    if (invalid !== undefined) return this.protocolError(RC.TOPIC_NAME_INVALID, `PUBLISH: ${invalid}`);
    if (qos === 2) {
      // Exactly once within a connection: a resend before PUBREL is acknowledged, not delivered again.
      if (this.awaitingRelease.has(messageId as number)) return this.write(mqtt.generate({ cmd: 'pubrec', messageId: messageId as number }, { protocolVersion: this.version }));
    }
    // QoS 2 publishes count until PUBREL (MQTT 5 section 4.9).
    if (qos > 0 && this.pending.length + this.awaitingRelease.size >= this.env.receiveMaximum) {
      return this.protocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, `more than ${this.env.receiveMaximum} unacknowledged publishes`);
    }
    const message = this.publishMessage(packet);
    if (typeof message === 'string') {
      // Not something the kernel can take: QoS 0 is dropped; QoS 1/2 are refused.
      this.session.warn(`MQTT publish refused: ${message}`, { topic: topic.slice(0, 100) });
      if (qos === 0) return;
      return this.refusePublish(messageId as number, qos, RC.PAYLOAD_FORMAT_INVALID);
    }
    if (qos === 0) {
      this.deliver(message);
      return;
    }
    const entry = this.track('publish', messageId as number, qos);
    const correlationId = this.correlate(entry, message.topic === TOPIC.RECORD && message.isWriteAck === true);
    message.correlationId = correlationId;
    this.handOver(entry, correlationId, message);
  }

  /** The message a PUBLISH becomes (see the README's mapping), or why it cannot become one. */
  private publishMessage(packet: mqtt.IPublishPacket): Message | string {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const name = packet.topic;
    if (!packet.retain || !this.env.records) {
      const message: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name };
      const data = dataOf(payload);
      if (data !== undefined) message.data = data;
      return message;
    }
    // Retained: the record of that name. An empty payload deletes it.
    if (payload.length === 0) return { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE, name };
    const text = payload.toString('utf8');
    if (!isRecordData(text)) return 'a retained payload must be a JSON object or array (it becomes the record)';
    const message: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDUPDATE, name, version: -1, data: text };
    if (packet.qos > 0) message.isWriteAck = true;
    return message;
  }

  private onSubscribe(packet: mqtt.ISubscribePacket, silent = false): void {
    const entry = this.track('subscribe', packet.messageId as number, 0, [], silent);
    entry.handling++; // not settled before every filter is handed over
    for (const { topic: filter, rh } of packet.subscriptions) {
      const refused = filter.startsWith('$share/') ? RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED : invalidTopicFilter(filter) === undefined ? undefined : RC.TOPIC_FILTER_INVALID;
      if (refused !== undefined) {
        this.session.warn('MQTT subscription refused', { filter: filter.slice(0, 100), reasonCode: refused });
        entry.filters!.push({ filter, correlationId: undefined, code: refused, retainHandling: 0 });
        continue;
      }
      const correlationId = this.correlate(entry, false);
      entry.filters!.push({ filter, correlationId, code: RC.SUCCESS, retainHandling: rh ?? 0 });
      // The event subscription decides (permissions, limits); the filter itself is the name asked about.
      this.handOver(entry, correlationId, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [filter], correlationId });
    }
    entry.handling--;
    this.settle(entry);
  }

  private onUnsubscribe(packet: mqtt.IUnsubscribePacket): void {
    const codes: number[] = [];
    for (const filter of packet.unsubscriptions) {
      const wildcard = this.filters.get(filter);
      if (wildcard === undefined) {
        codes.push(RC.NO_SUBSCRIPTION_EXISTED);
        continue;
      }
      this.filters.delete(filter);
      this.deliver({ topic: TOPIC.EVENT, action: EVENT_ACTION.UNSUBSCRIBE, names: [filter] });
      if (wildcard) this.env.removeFilter(filter, this);
      else if (this.env.records) this.records.unfollow(filter);
      codes.push(RC.SUCCESS);
    }
    // MQTT 3.1.1's UNSUBACK has no reason codes.
    const unsuback = { cmd: 'unsuback', messageId: packet.messageId as number, ...(this.version === 5 ? { granted: codes } : {}) } as mqtt.IUnsubackPacket;
    this.write(mqtt.generate(unsuback, { protocolVersion: this.version }));
  }

  // ---- acknowledgements --------------------------------------------------------------------

  private track(kind: Pending['kind'], packetId: number, qos: number, filters?: Pending['filters'], silent = false): Pending {
    const entry: Pending = { kind, packetId, qos, ids: [], waiting: new Set(), handling: 0, failures: new Map(), filters, silent };
    this.pending.push(entry);
    return entry;
  }

  /** A correlation id for one message of `entry`; `awaitAck`: it is answered by an acknowledgement (a record write), not by being handled. */
  private correlate(entry: Pending, awaitAck: boolean): string {
    const id = `mqtt-${(this.nextCorrelation++).toString(36)}`;
    entry.ids.push(id);
    if (awaitAck) entry.waiting.add(id);
    this.byCorrelation.set(id, entry);
    return id;
  }

  /** Hands a message to the session on behalf of `entry`, and settles the entry once it is handled. */
  private handOver(entry: Pending, correlationId: string, message: Message): void {
    entry.handling++;
    const outer = this.current;
    this.current = { entry, correlationId };
    let pending: void | Promise<void>;
    try {
      pending = this.deliver(message);
    } finally {
      this.current = outer;
    }
    const done = () => {
      entry.handling--;
      this.settle(entry);
    };
    if (pending instanceof Promise) void pending.then(done);
    else done();
  }

  /** A kernel reply for `entry`: a refusal is remembered; a write acknowledgement ends the wait. */
  private answer(entry: Pending, correlationId: string, message: Message | undefined): void {
    if (message !== undefined && !entry.failures.has(correlationId)) entry.failures.set(correlationId, message);
    entry.waiting.delete(correlationId);
    this.settle(entry);
  }

  /** Sends every acknowledgement at the head of the queue whose packet is fully answered. */
  private settle(entry: Pending): void {
    if (entry.handling > 0 || entry.waiting.size > 0) return;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (head.handling > 0 || head.waiting.size > 0 || this.state === State.Closed) return;
      this.pending.shift();
      for (const id of head.ids) this.byCorrelation.delete(id);
      if (head.kind === 'publish') this.acknowledgePublish(head);
      else this.acknowledgeSubscribe(head);
    }
  }

  private acknowledgePublish(entry: Pending): void {
    const failure = entry.failures.values().next().value as Message | undefined;
    if (failure === undefined) {
      this.awaitingReleaseIf(entry);
      return this.write(mqtt.generate({ cmd: entry.qos === 2 ? 'pubrec' : 'puback', messageId: entry.packetId }, { protocolVersion: this.version }));
    }
    this.session.warn('MQTT publish refused by the server', { topic: TOPIC[failure.topic], action: failure.action, name: failure.name });
    this.refusePublish(entry.packetId, entry.qos, reasonFor(failure));
  }

  private awaitingReleaseIf(entry: Pending): void {
    if (entry.qos === 2) this.awaitingRelease.add(entry.packetId);
  }

  /**
   * MQTT 5 says why in the PUBACK (or PUBREC). MQTT 3.1.1 has no negative acknowledgement: the
   * connection is closed instead (MQTT 3.1.1 section 3.3.5), so a refused write is never acknowledged as done.
   */
  private refusePublish(packetId: number, qos: number, reasonCode: number): void {
    if (this.version === 5) {
      this.write(mqtt.generate({ cmd: qos === 2 ? 'pubrec' : 'puback', messageId: packetId, reasonCode }, { protocolVersion: 5 }));
      return;
    }
    this.end();
  }

  private acknowledgeSubscribe(entry: Pending): void {
    const granted: number[] = [];
    for (const f of entry.filters!) {
      let code = f.code;
      if (code === RC.SUCCESS && f.correlationId !== undefined) {
        const failure = entry.failures.get(f.correlationId);
        if (failure !== undefined) code = reasonFor(failure);
      }
      if (code === RC.SUCCESS) this.hold(f.filter, f.retainHandling);
      // Every subscription is granted QoS 0: events and record changes are delivered at most once.
      granted.push(code === RC.SUCCESS ? 0 : this.version === 5 ? code : V4_SUBACK_FAILURE);
    }
    if (entry.silent === true) return;
    this.write(mqtt.generate({ cmd: 'suback', messageId: entry.packetId, granted }, { protocolVersion: this.version }));
  }

  /** A granted filter: wildcards join the transport's tree, exact names also follow the record of that name. */
  private hold(filter: string, retainHandling: number): void {
    const existed = this.filters.has(filter);
    const wildcard = isWildcard(filter);
    this.filters.set(filter, wildcard);
    if (wildcard) return this.env.addFilter(filter, this);
    if (this.env.records) this.records.follow(filter, retainHandling, !existed);
  }

  // ---- outbound: the kernel's replies -----------------------------------------------------

  private reply(message: Message): void {
    const { topic, action } = message;
    if (topic === TOPIC.AUTH) return this.onLoginResult(message);
    if (topic === TOPIC.CONNECTION) {
      // Turned away at open (maxUnauthenticatedPerAddress): before CONNECT there is nothing to answer.
      if (action === CONNECTION_ACTION.REJECT) return this.end();
      // An inbound filter (a rate limit) dropped the message being handed over.
      if (action === CONNECTION_ACTION.ERROR && this.current !== undefined) this.answer(this.current.entry, this.current.correlationId, message);
      return;
    }
    if (topic === TOPIC.PARSER) {
      if (this.current !== undefined) this.answer(this.current.entry, this.current.correlationId, message);
      return;
    }
    const { correlationId } = message;
    const entry = correlationId === undefined ? undefined : this.byCorrelation.get(correlationId);
    if (entry !== undefined && correlationId !== undefined) {
      if (message.isAck === true || action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT) return this.answer(entry, correlationId, undefined);
      if (message.isError === true || isRefusal(topic, action)) return this.answer(entry, correlationId, message);
    }
    // Record traffic of exact filters (the retained value, patches, deletion).
    const name = message.name;
    if (topic === TOPIC.RECORD && name !== undefined && this.filters.get(name) === false) this.records.reply(name, message);
  }

  private onLoginResult(message: Message): void {
    if (this.state !== State.Authenticating) return;
    if (message.action === AUTH_ACTION.AUTH_SUCCESSFUL) {
      this.state = State.Open;
      const resumed = this.env.claimClientId(this.clientId, this, this.cleanStart);
      const connack: mqtt.IConnackPacket = { cmd: 'connack', sessionPresent: resumed !== undefined };
      if (this.version === 5) {
        connack.reasonCode = RC.SUCCESS;
        connack.properties = {
          sessionExpiryInterval: this.sessionExpiry, // what the server grants (README: sessions)
          receiveMaximum: this.env.receiveMaximum,
          maximumPacketSize: this.env.maxPacketSize,
          topicAliasMaximum: 0,
          retainAvailable: this.env.records,
          wildcardSubscriptionAvailable: true,
          subscriptionIdentifiersAvailable: false,
          sharedSubscriptionAvailable: false,
        };
        if (this.assignedClientId !== undefined) connack.properties.assignedClientIdentifier = this.assignedClientId;
      } else {
        connack.returnCode = V4_CONNACK.ACCEPTED;
      }
      this.write(mqtt.generate(connack, { protocolVersion: this.version }));
      // A resumed session's filters are subscribed again, through the same permission checks, without
      // SUBACK or retained values (the client holds them already).
      if (resumed !== undefined && resumed.length > 0) this.onSubscribe({ cmd: 'subscribe', messageId: 0, subscriptions: resumed.map((topic) => ({ topic, qos: 0, rh: 2 })) }, true);
      const early = this.early;
      this.early = undefined;
      if (early !== undefined) for (const packet of early) this.onPacket(packet);
      return;
    }
    if (message.action === AUTH_ACTION.AUTH_UNSUCCESSFUL) {
      this.will = undefined;
      return this.refuseConnect(RC.BAD_USERNAME_OR_PASSWORD, V4_CONNACK.BAD_USERNAME_OR_PASSWORD, 'login refused');
    }
  }

  // ---- wildcard deliveries -----------------------------------------------------------------

  /** An event matched one of this client's wildcard filters: delivered if it may subscribe to that very name. */
  deliverWildcard(emit: SharedMessage, name: string, sender: Session | undefined): void {
    // Never back to the sender, as for exact subscriptions (deepstream's rule: MQTT 5's No Local, always).
    if (this.lastWildcardDelivery === emit || this.state !== State.Open || this.session === sender) return;
    this.lastWildcardDelivery = emit;
    if (this.filters.get(name) === false) return; // the exact subscription delivered it already
    this.permits.deliver(this.session, emit, name);
  }

  // ---- the socket --------------------------------------------------------------------------

  /** Writes one packet; a turn's packets leave together (one system call). */
  private write(bytes: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(bytes);
  }

  flushWrites(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** A broken rule: MQTT 5 clients get DISCONNECT with the reason first; the will is published. */
  protocolError(reasonCode: number, why: string): void {
    if (this.state === State.Closed) return;
    if (this.session !== undefined) this.session.warn(`MQTT client disconnected: ${why}`, { reasonCode });
    this.disconnect(reasonCode);
  }

  /** Server-side DISCONNECT (MQTT 5 only has one), then close. */
  disconnect(reasonCode: number): void {
    if (this.state === State.Closed) return;
    if (this.version === 5 && this.state === State.Open) this.write(mqtt.generate({ cmd: 'disconnect', reasonCode }, { protocolVersion: 5 }));
    this.end();
  }

  /** Closes once queued packets are written. */
  private end(): void {
    if (this.state === State.Closed) return;
    this.publishWill();
    this.state = State.Closed;
    if (this.corked) this.flushWrites();
    this.socket.end();
    // A client that does not read its last packets must not keep the socket.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** The will goes out as if the client had published it, through the same permissions, unless it said goodbye. */
  private publishWill(): void {
    const will = this.will;
    this.will = undefined;
    if (will === undefined || will === null || this.session === undefined || !this.session.isAuthenticated) return;
    const packet = { cmd: 'publish', topic: will.topic, payload: will.payload, qos: 0, retain: will.retain === true, dup: false } as mqtt.IPublishPacket;
    const message = this.publishMessage(packet);
    if (typeof message === 'string') return this.session.warn(`MQTT will refused: ${message}`);
    this.deliver(message);
  }

  /** A newer connection with this client id takes over: it gets this session (if it outlives connections), this one keeps nothing. */
  takeOver(): string[] | undefined {
    this.keepSession = false;
    return this.sessionExpiry > 0 ? [...this.filters.keys()] : undefined;
  }

  private onClose(): void {
    if (this.state !== State.Closed) this.publishWill();
    // Only a logged-in client has a session; wildcard and exact filters alike are kept.
    if (this.keepSession && this.sessionExpiry > 0 && this.session?.isAuthenticated === true) this.env.storeSession(this.clientId, [...this.filters.keys()], this.sessionExpiry);
    this.state = State.Closed;
    for (const [filter, wildcard] of this.filters) if (wildcard) this.env.removeFilter(filter, this);
    this.env.releaseClientId(this.clientId, this);
    this.env.closed(this);
    this.session?.closed();
  }
}

const PINGRESP = mqtt.generate({ cmd: 'pingresp' });
const MAX_EARLY_PACKETS = 100;

function uncork(connection: MqttConnection): void {
  connection.flushWrites();
}
