import {
  EVENT_ACTION,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type Admission,
  type AuthorizationFacts,
  type ClusterBus,
  type Message,
  type PluginContext,
  type Session,
  type ListeningService,
  type TopicAccess,
  type TopicListenerHandler,
} from '@deepstream-ts/core';
import type { EventsOptions } from './options.ts';
import { EmitObservers } from './emit-observers.ts';

const CLUSTER_CHANNEL = 'event';

/**
 * Owns the EVENT topic: who subscribes to what, and delivery of every emit to local subscribers
 * (never back to the sender) and to the other cluster nodes.
 */
export class EventsService {
  readonly topic = TOPIC.EVENT;
  /** Public so that the listening plugin can observe first/last subscribers. */
  readonly subscriptions: SubscriptionRegistry;
  private cluster: ClusterBus | undefined;
  /** LISTEN traffic goes here when a listening plugin is configured. */
  readonly listeners: TopicListenerHandler | undefined;
  /** The `eventEmits` service: sees every delivered event (MQTT wildcard subscriptions). */
  readonly emits = new EmitObservers();

  constructor(
    private readonly ctx: PluginContext<EventsOptions>,
    listening: ListeningService | undefined,
  ) {
    this.subscriptions = new SubscriptionRegistry({ maxPerSession: ctx.config.connection.maxSubscriptionsPerConnection });
    this.listeners = listening?.forTopic('event', this.subscriptions);
  }

  /**
   * Delivers emits from other nodes to local subscribers; returns the detach function. Emits cross
   * the bus keyed by name: this node registers interest in a name while it has subscribers of it,
   * and in every name while an `eventEmits` observer wants them all (EVENTS_RPC_PRESENCE §5).
   */
  attachCluster(cluster: ClusterBus): () => void {
    this.cluster = cluster;
    let attached = true;
    this.subscriptions.observe({
      onFirstSubscriber: (name) => attached && void cluster.interest(CLUSTER_CHANNEL, name),
      onLastSubscriber: (name) => attached && cluster.dropInterest(CLUSTER_CHANNEL, name),
    });
    const stopWanting = this.emits.onWantAll((wanted) => (wanted ? cluster.wantAll(CLUSTER_CHANNEL) : cluster.dropAll(CLUSTER_CHANNEL)));
    const detach = cluster.subscribe(CLUSTER_CHANNEL, (message) => {
      if (message.name !== undefined) this.deliver(new SharedMessage(message), undefined);
    });
    return () => {
      attached = false;
      stopWanting();
      detach();
    };
  }

  forget(session: Session): void {
    this.subscriptions.removeSession(session);
  }

  /**
   * What the router asks the permission plugins before `handle` runs (SECURITY §3): emits need
   * `publish` (their payload is the rule's `data`), subscriptions `subscribe` per name, listening
   * `listen`. Messages `handle` refuses anyway (no name, too long, payload not JSON) are not asked.
   * A session's messages stay in order while checks wait: subscribe-then-unsubscribe ends unsubscribed.
   */
  access(): TopicAccess {
    const { maxNameLength, validatePayloads } = this.ctx.options;
    return {
      resource: 'event',
      ordered: true,
      bulk: [EVENT_ACTION.SUBSCRIBE],
      permissions: {
        [EVENT_ACTION.EMIT]: ({ name, data }) =>
          name === undefined || name === '' || name.length > maxNameLength || (data !== undefined && validatePayloads && !isJson(data)) ? undefined : 'publish',
        [EVENT_ACTION.SUBSCRIBE]: (_message, name) => (name.length > maxNameLength ? undefined : 'subscribe'),
        [EVENT_ACTION.LISTEN]: 'listen',
      },
      facts: (_session, message) => (message.action === EVENT_ACTION.EMIT ? payloadFacts(message.data) : undefined),
    };
  }

  handle(session: Session, message: Message, admission?: Admission): void | Promise<void> {
    switch (message.action) {
      case EVENT_ACTION.EMIT:
        return this.emit(session, message);
      case EVENT_ACTION.SUBSCRIBE:
        return this.subscribe(session, message, admission?.denied ?? 0);
      case EVENT_ACTION.UNSUBSCRIBE:
        return this.unsubscribe(session, message);
      default:
        if (this.listeners?.handles(message.action)) return this.listeners.handle(session, message);
        // Unknown actions, and LISTEN without a listening plugin, are ignored (PROTOCOL §5.6).
        session.warn('unsupported event action ignored', { action: message.action, name: message.name });
    }
  }

  private emit(session: Session, message: Message): void {
    const { name, data } = message;
    if (name === undefined || name === '') return this.rejectData(session, message, 'emit without an event name');
    if (name.length > this.ctx.options.maxNameLength) return this.rejectData(session, message, this.tooLong(name), true);
    if (data !== undefined && this.ctx.options.validatePayloads && !isJson(data)) {
      return this.rejectData(session, message, 'emit payload is not valid JSON');
    }
    this.publish(session, message, name, data);
  }

  /** `received`: the client's EMIT; when its frame is exactly `out`'s encoding, subscribers get those bytes. */
  private publish(sender: Session, received: Message, name: string, data: string | undefined): void {
    const out: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name };
    if (data !== undefined) out.data = data; // no payload means no data field, never "null"
    this.deliver(SharedMessage.forwarding(out, received), sender);
    this.cluster?.sendKeyed(CLUSTER_CHANNEL, name, out);
  }

  private deliver(shared: SharedMessage, sender: Session | undefined): void {
    for (const subscriber of this.subscriptions.subscribers(shared.message.name as string)) {
      if (subscriber !== sender) subscriber.send(shared);
    }
    this.emits.notify(shared, sender);
  }

  /** `denied`: names the router denied (and answered) before. */
  private subscribe(session: Session, message: Message, denied: number): void | Promise<void> {
    const request = this.withValidNames(session, message);
    return this.applySubscribe(session, request, request.names ?? [], denied);
  }

  /** Names over `maxNameLength` are answered with INVALID_MESSAGE_DATA each and never stored or checked. */
  private withValidNames(session: Session, message: Message): Message {
    const names = message.names ?? [];
    const max = this.ctx.options.maxNameLength;
    let valid = true;
    for (let i = 0; i < names.length; i++) if (names[i]!.length > max) valid = false;
    if (valid) return message;
    const kept: string[] = [];
    for (const name of names) {
      if (name.length <= max) kept.push(name);
      else this.rejectData(session, { ...message, name }, this.tooLong(name), true);
    }
    return { ...message, names: kept };
  }

  private tooLong(name: string): string {
    return `maxNameLength (${this.ctx.options.maxNameLength}) exceeded: an event name of ${name.length} characters`;
  }

  /**
   * Subscribed at once (local emits reach the session from now on); acknowledged once this node is
   * registered for every name cluster-wide, so an emit on another node after the ack is never missed.
   */
  private applySubscribe(session: Session, message: Message, names: readonly string[], denied: number): void | Promise<void> {
    if (session.isClosed) return;
    for (const name of names) {
      const outcome = this.subscriptions.add(name, session);
      if (outcome === 'duplicate') {
        session.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS, name, originalAction: EVENT_ACTION.SUBSCRIBE });
      } else if (outcome === 'full') {
        this.refuseFull(session, message, name);
      }
    }
    // Every name denied: no ack (the client cleared its timers on the denials).
    if (names.length === 0 && denied > 0) return;
    const registering = this.cluster?.interested(CLUSTER_CHANNEL, names);
    if (registering === undefined) return this.ack(session, message);
    return registering.then(() => {
      if (!session.isClosed) this.ack(session, message);
    });
  }

  private unsubscribe(session: Session, message: Message): void {
    for (const name of message.names ?? []) this.subscriptions.unsubscribe(name, session);
    this.ack(session, message);
  }

  private ack(session: Session, message: Message): void {
    const ack: Message = { topic: TOPIC.EVENT, action: message.action, isAck: true };
    if (message.correlationId !== undefined) ack.correlationId = message.correlationId;
    session.send(ack);
  }

  /** MESSAGE_DENIED makes the official client drop its callbacks for the name; `data` names the limit. */
  private refuseFull(session: Session, message: Message, name: string): void {
    const reason = this.subscriptions.limitReason();
    session.warn(`event subscription refused: ${reason}`, { name: name.slice(0, 100) });
    session.send({ ...denialFor(message, name, { allowed: false }), data: JSON.stringify(reason) });
  }

  /** INVALID_MESSAGE_DATA (for a limit, with the reason as data); a name is echoed up to 100 characters. */
  private rejectData(session: Session, message: Message, why: string, isLimit = false): void {
    session.warn(why, { name: message.name?.slice(0, 100) });
    const reply: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.INVALID_MESSAGE_DATA, originalAction: message.action, isError: true };
    if (isLimit) reply.data = JSON.stringify(why);
    if (message.name !== undefined) reply.name = message.name.slice(0, 100);
    if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
    session.send(reply);
  }
}

/** An emit's payload as rules see it (`data`), parsed once when first asked; undefined without one. */
function payloadFacts(text: string | undefined): AuthorizationFacts {
  let parsed: { value: unknown } | undefined;
  return {
    data() {
      if (text === undefined) return undefined;
      parsed ??= { value: JSON.parse(text) as unknown }; // invalid JSON fails the check
      return parsed.value;
    },
  };
}

/**
 * Whether `text` is what JSON.parse accepts. A scan that builds nothing answers in the common case,
 * several times faster than parsing; JSON.parse has the last word on everything the scan rejects,
 * so a payload can be accepted wrongly only if the scan is wrong, never refused wrongly.
 */
export function isJson(text: string): boolean {
  if (scanJson(text)) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Character codes.
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const UPPER_E = 69;
const OPEN_BRACKET = 91;
const BACKSLASH = 92;
const CLOSE_BRACKET = 93;
const LOWER_E = 101;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/**
 * RFC 8259 grammar, as V8's JSON.parse applies it: one value between optional whitespace (space,
 * tab, LF, CR); strings of code units >= 0x20 other than `"` and `\` (lone surrogates included),
 * with the escapes \" \\ \/ \b \f \n \r \t \uXXXX; numbers -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?;
 * true, false, null; nesting to any depth (an explicit stack, no recursion). True only when valid.
 */
export function scanJson(text: string): boolean {
  const n = text.length;
  /** Open containers, innermost last: true for an object, false for an array. */
  const stack: boolean[] = [];
  let i = 0;
  let c = 0;
  for (;;) {
    // A value is expected at i (after optional whitespace).
    while (i < n && ((c = text.charCodeAt(i)) === SPACE || c === LF || c === CR || c === TAB)) i++;
    if (i >= n) return false;
    c = text.charCodeAt(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const isObject = c === OPEN_BRACE;
      i++;
      while (i < n && ((c = text.charCodeAt(i)) === SPACE || c === LF || c === CR || c === TAB)) i++;
      if (i < n && text.charCodeAt(i) === (isObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
        i++; // empty container: a complete value
      } else {
        stack.push(isObject);
        if (isObject && !(i < n && text.charCodeAt(i) === QUOTE && (i = scanKey(text, i)) > 0)) return false;
        continue; // the first member's value (after the key and colon for an object)
      }
    } else if (c === QUOTE) {
      i = scanString(text, i);
      if (i < 0) return false;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = scanNumber(text, i);
      if (i < 0) return false;
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else return false;
    // A value ended at i: close containers, or go on to the next member.
    for (;;) {
      while (i < n && ((c = text.charCodeAt(i)) === SPACE || c === LF || c === CR || c === TAB)) i++;
      if (stack.length === 0) return i === n;
      if (i >= n) return false;
      c = text.charCodeAt(i);
      const inObject = stack[stack.length - 1] as boolean;
      if (c === COMMA) {
        i++;
        if (inObject) {
          while (i < n && ((c = text.charCodeAt(i)) === SPACE || c === LF || c === CR || c === TAB)) i++;
          if (!(i < n && text.charCodeAt(i) === QUOTE && (i = scanKey(text, i)) > 0)) return false;
        }
        break; // next value
      }
      if (c !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return false;
      stack.pop();
      i++;
    }
  }
}

/** A member name at i (a `"`), whitespace, and the colon; returns the index after the colon, or -1. */
function scanKey(text: string, i: number): number {
  i = scanString(text, i);
  if (i < 0) return -1;
  let c = 0;
  while (i < text.length && ((c = text.charCodeAt(i)) === SPACE || c === LF || c === CR || c === TAB)) i++;
  return i < text.length && text.charCodeAt(i) === COLON ? i + 1 : -1;
}

/** A string at i (a `"`); returns the index after its closing quote, or -1. */
function scanString(text: string, i: number): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        // \uXXXX
        for (let k = i + 2; k < i + 6; k++) {
          const h = text.charCodeAt(k);
          if (!((h >= ZERO && h <= NINE) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) return -1;
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/** A number at i; returns the index after it, or -1. */
function scanNumber(text: string, i: number): number {
  const n = text.length;
  let c = text.charCodeAt(i);
  if (c === MINUS) c = text.charCodeAt(++i);
  if (c === ZERO) i++;
  else if (c >= 0x31 && c <= NINE) {
    i++;
    while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
  } else return -1;
  if (i < n && text.charCodeAt(i) === DOT) {
    i++;
    const start = i;
    while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === start) return -1;
  }
  if (i < n && ((c = text.charCodeAt(i)) === LOWER_E || c === UPPER_E)) {
    i++;
    if (i < n && ((c = text.charCodeAt(i)) === PLUS || c === MINUS)) i++;
    const start = i;
    while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === start) return -1;
  }
  return i;
}
