import type { Logger } from 'pino';
import { clusterCodec } from '../protocol/codec.ts';
import type { Message } from '../protocol/messages.ts';
import type { ClusterBus, ClusterHandler, MembershipHandler } from './bus.ts';
import { BusListeners } from './listeners.ts';
import { LOCAL_CLUSTER } from './local-transport.ts';
import { INTEREST_LINGER, InterestTable } from './interest-table.ts';

/**
 * What a cluster connector implements: it only moves bytes between nodes. The kernel's
 * ClusterNode owns the protocol on top (framing, heartbeats, membership).
 */
export interface ClusterTransport {
  /** For logs, e.g. `redis:redis://host:6379` (never a password). */
  readonly description: string;
  /**
   * True for a transport that can never reach another node (the kernel's single-node default):
   * the node then sends no heartbeats and keeps no timer.
   */
  readonly alone?: boolean;
  /** Starts delivering: broadcasts, and what other nodes send to `serverName` directly. */
  start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void>;
  /**
   * To every node (this one may receive it too; the node ignores its own frames). The bytes are
   * the transport's from here on: the node never touches them again, so they need no copy.
   */
  publish(bytes: Uint8Array): void;
  publishTo(serverName: string, bytes: Uint8Array): void;
  /**
   * Interest-based traffic (optional: a transport without these three gets keyed sends as
   * broadcasts, filtered on arrival). Once the promise resolves, every `publishKey` of one of these
   * keys, from any node, reaches this node until it unsubscribes: that is the barrier a
   * subscription's acknowledgement waits for. Keys are opaque strings chosen by the node
   * (`channel:key`). Calls take effect in the order made (an unsubscribe then a subscribe of one
   * key ends subscribed), and one sender's keyed and broadcast frames arrive in the order sent.
   */
  subscribeKeys?(keys: readonly string[]): Promise<void>;
  unsubscribeKeys?(keys: readonly string[]): Promise<void>;
  /** To the nodes subscribed to `key` (this one included, if it is; the node ignores its own frames). */
  publishKey?(key: string, bytes: Uint8Array): void;
  /** Stops delivering in both directions. */
  close(): Promise<void>;
}

export interface ClusterTiming {
  /** Milliseconds between this node's heartbeats. */
  keepAliveInterval: number;
  /** A node not heard from for this long is considered gone (spec default 6000). */
  nodeTimeout: number;
}

/** What a plugin provides as the `clusterTransport` service. */
export interface ClusterTransportService {
  readonly transport: ClusterTransport;
  readonly timing: ClusterTiming;
}

const enum FrameKind {
  Data = 0,
  Heartbeat = 1,
  Leaving = 2,
  /** Several frames of one event-loop turn, each prefixed with its length (u32). */
  Batch = 3,
  /** A barrier's question, carrying its id where data frames carry the channel; answered with Pong. */
  Ping = 4,
  Pong = 5,
  /** A data frame for the nodes interested in one key: `kind, from, channel, key length (u16), key, message`. */
  Keyed = 6,
}

/** A barrier waiting for the peers it asked. */
interface PendingBarrier {
  waiting: Set<string>;
  done(): void;
}

/** A turn's broadcasts leave early once they reach this size. */
const MAX_BATCH_BYTES = 256 * 1024;
/** Separates the channels a heartbeat says its node wants all of. */
const CHANNEL_SEPARATOR = '\n';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A cluster member over any byte transport; every kernel runs one, over its configured cluster
 * connector or, with none, over the local transport that reaches nobody. Frames are
 * `kind, from, [channel, message]`; a message is encoded once per send, whatever the number of
 * nodes or subscribers. The broadcasts of one event-loop turn leave as one batch frame (one Redis
 * PUBLISH, not one per message), as client sockets get one write per turn. With no peers, `send`
 * does nothing: a lone node pays nothing.
 *
 * Plugins subscribe during setup, before the node starts: handlers live on the node, so they are
 * in place when the first peer's state arrives.
 */
export class ClusterNode implements ClusterBus {
  readonly peers = new Set<string>();
  private readonly lastHeard = new Map<string, number>();
  /** Each node's incarnation: a node restarted under the same name is a new member. */
  private readonly incarnations = new Map<string, string>();
  private readonly incarnation = Math.random().toString(36).slice(2, 10);
  private readonly listeners: BusListeners;
  private outbox: Uint8Array[] = [];
  /** Per outbox frame, the transport key it goes to; undefined: to every node. */
  private outboxKeys: Array<string | undefined> = [];
  private outboxBytes = 0;
  /** By transport key (`channel:key`): what this node wants keyed frames of. */
  private readonly interests: InterestTable;
  /** Channels this node wants every keyed frame of, with their holders' count. */
  private readonly wantAllRefs = new Map<string, number>();
  private readonly wantAllPending = new Map<string, Promise<void>>();
  /** What each heartbeat carries: the channels this node wants all of, encoded. */
  private wantAllBytes: Uint8Array | undefined;
  /** Per peer, the channels it wants all of (its heartbeats say): peers absent want none. */
  private readonly remoteWantAll = new Map<string, ReadonlySet<string>>();
  private readonly fromBytes: Uint8Array;
  /** Channel names as bytes: a handful of channels carry every message, so encode each once. */
  private readonly channelBytes = new Map<string, Uint8Array>();
  private transport: ClusterTransport = LOCAL_CLUSTER.transport;
  private timer: NodeJS.Timeout | undefined;
  private nodeTimeout = 0;
  private barrierIds = 0;
  private readonly barriers = new Map<string, PendingBarrier>();
  /** The barrier that the calls of this event-loop turn share. */
  private nextBarrier: Promise<void> | undefined;

  constructor(
    readonly serverName: string,
    private readonly log: Logger,
    options: { interestLinger?: number } = {},
  ) {
    this.interests = new InterestTable(() => this.transport, options.interestLinger ?? INTEREST_LINGER, log);
    this.fromBytes = encoder.encode(serverName);
    const threw = (error: unknown, channel: string, from: string) => this.log.error({ err: error, channel, from }, 'a cluster message handler threw');
    this.listeners = new BusListeners(threw);
  }

  /** Joins the cluster the transport reaches. On failure the transport is closed and the node stays alone. */
  async start(transport: ClusterTransport, timing: ClusterTiming): Promise<void> {
    this.transport = transport;
    try {
      await transport.start(this.serverName, (bytes) => this.receive(bytes));
    } catch (error) {
      this.transport = LOCAL_CLUSTER.transport;
      await transport.close().catch(() => undefined);
      throw error;
    }
    if (transport.alone) return;
    this.nodeTimeout = timing.nodeTimeout;
    transport.publish(this.heartbeat());
    const tick = Math.max(50, Math.min(timing.keepAliveInterval, timing.nodeTimeout / 3));
    let sinceBeat = 0;
    this.timer = setInterval(() => {
      sinceBeat += tick;
      if (sinceBeat >= timing.keepAliveInterval) {
        sinceBeat = 0;
        this.transport.publish(this.heartbeat());
      }
      this.dropSilentNodes(timing.nodeTimeout);
    }, tick);
    this.timer.unref();
  }

  send(channel: string, message: Message): void {
    if (this.peers.size === 0) return;
    this.enqueue(this.frame(FrameKind.Data, channel, message), undefined);
  }

  /**
   * To the nodes interested in `key` of `channel` (PROTOCOL §10, "interest"). Published even with no
   * peers known: a node that has just subscribed may not have heartbeated yet. Broadcast instead,
   * and filtered on arrival, when the transport has no keyed publish or some node wants the whole
   * channel (`wantAll`).
   */
  sendKeyed(channel: string, key: string, message: Message): void {
    const transport = this.transport;
    if (transport.alone) return;
    const keyed = transport.publishKey !== undefined && !this.wantedAllElsewhere(channel);
    if (!keyed && this.peers.size === 0) return;
    const frame = this.keyedFrame(channel, key, message);
    // A key too long for the frame's u16 length goes as a plain broadcast: delivered everywhere, unfiltered.
    if (frame === undefined) return this.send(channel, message);
    this.enqueue(frame, keyed ? `${channel}:${key}` : undefined);
  }

  /**
   * This node wants what other nodes send keyed to these keys of `channel`: one reference each,
   * given back with `dropInterest`. Returns what a subscription's acknowledgement waits for (the
   * keys registered with the transport, cluster-wide), undefined when nothing is to be waited for.
   * The keys of one turn are subscribed in one transport call.
   */
  interest(channel: string, keys: string | readonly string[]): Promise<void> | undefined {
    if (this.transport.alone) return undefined;
    return typeof keys === 'string' ? this.interests.add(`${channel}:${keys}`) : this.interests.each(keys.map((key) => `${channel}:${key}`), true);
  }

  /** What `interest` returned for these keys, for those still being registered; takes no reference. */
  interested(channel: string, keys: string | readonly string[]): Promise<void> | undefined {
    if (this.transport.alone) return undefined;
    return typeof keys === 'string' ? this.interests.pending(`${channel}:${keys}`) : this.interests.each(keys.map((key) => `${channel}:${key}`), false);
  }

  /** Gives back references taken with `interest`; a key nobody holds is unsubscribed after a linger. */
  dropInterest(channel: string, keys: string | readonly string[]): void {
    if (this.transport.alone) return;
    if (typeof keys === 'string') return this.interests.release(`${channel}:${keys}`);
    for (const key of keys) this.interests.release(`${channel}:${key}`);
  }

  /**
   * This node wants every keyed frame of `channel`, whatever its key (MQTT wildcard subscriptions):
   * while any node does, the others broadcast that channel's keyed frames. Resolves once every
   * current peer knows (a barrier after the announcement); a node that joins later learns it with
   * the rest of the cluster's state, its first frames may miss this node.
   */
  wantAll(channel: string): Promise<void> | undefined {
    const refs = this.wantAllRefs.get(channel) ?? 0;
    this.wantAllRefs.set(channel, refs + 1);
    if (refs > 0) return this.wantAllPending.get(channel);
    this.wantAllChanged();
    if (this.transport.alone) return undefined; // announced by the first heartbeat, if ever
    const ready: Promise<void> = this.barrier().then(() => {
      if (this.wantAllPending.get(channel) === ready) this.wantAllPending.delete(channel);
    });
    this.wantAllPending.set(channel, ready);
    return ready;
  }

  /** Gives back a `wantAll`. */
  dropAll(channel: string): void {
    const refs = this.wantAllRefs.get(channel);
    if (refs === undefined) return;
    if (refs > 1) return void this.wantAllRefs.set(channel, refs - 1);
    this.wantAllRefs.delete(channel);
    this.wantAllPending.delete(channel);
    this.wantAllChanged();
  }

  /** Heartbeats carry the channels this node wants all of; a change is told at once, after what was sent before. */
  private wantAllChanged(): void {
    this.wantAllBytes = this.wantAllRefs.size === 0 ? undefined : encoder.encode([...this.wantAllRefs.keys()].join(CHANNEL_SEPARATOR));
    if (this.transport.alone || this.timer === undefined) return;
    this.flushOutbox();
    this.transport.publish(this.heartbeat());
  }

  sendDirect(serverName: string, channel: string, message: Message): void {
    this.flushOutbox(); // what was broadcast before must not arrive after
    this.transport.publishTo(serverName, this.frame(FrameKind.Data, channel, message));
  }

  /**
   * Resolves once every current peer has received what this node sent before the call, and this
   * node has received what each peer sent before answering (PROTOCOL §10, "barriers"): a ping on
   * each peer's direct channel, answered after the peer flushed its own outbox. Both legs leave
   * behind earlier frames of the same sender, which the transport keeps in order. The calls of one
   * turn share one round trip; a peer that leaves, or stays silent past nodeTimeout, counts as answered.
   */
  barrier(): Promise<void> {
    if (this.peers.size === 0) return Promise.resolve();
    return (this.nextBarrier ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.nextBarrier = undefined;
        this.startBarrier(resolve);
      }),
    ));
  }

  subscribe(channel: string, handler: ClusterHandler): () => void {
    return this.listeners.subscribe(channel, handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    return this.listeners.onMembership(handler);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.flushOutbox();
      if (!this.transport.alone) this.transport.publish(this.frame(FrameKind.Leaving));
    } catch {
      // the transport may already be gone
    }
    await this.transport.close();
    // Closed is alone: whatever a plugin still sends goes nowhere.
    this.transport = LOCAL_CLUSTER.transport;
    this.peers.clear();
    this.lastHeard.clear();
    this.remoteWantAll.clear();
    this.interests.clear();
    this.listeners.clear();
    for (const pending of [...this.barriers.values()]) pending.done();
  }

  private startBarrier(resolve: () => void): void {
    const id = String(++this.barrierIds);
    const waiting = new Set(this.peers);
    if (waiting.size === 0) return resolve();
    const timer = setTimeout(() => pending.done(), this.nodeTimeout);
    const pending: PendingBarrier = {
      waiting,
      done: () => {
        clearTimeout(timer);
        this.barriers.delete(id);
        resolve();
      },
    };
    this.barriers.set(id, pending);
    this.flushOutbox();
    const ping = this.frame(FrameKind.Ping, id);
    for (const peer of waiting) this.transport.publishTo(peer, ping);
  }

  private answered(peer: string, id: string): void {
    const pending = this.barriers.get(id);
    if (pending !== undefined && pending.waiting.delete(peer) && pending.waiting.size === 0) pending.done();
  }

  private enqueue(frame: Uint8Array, key: string | undefined): void {
    this.outbox.push(frame);
    this.outboxKeys.push(key);
    this.outboxBytes += frame.length;
    if (this.outboxBytes >= MAX_BATCH_BYTES) this.flushOutbox();
    else if (this.outbox.length === 1) setImmediate(this.flushOutbox);
  }

  /**
   * In the order sent: each run of consecutive frames to the same destination (every node, or one
   * key) leaves as one publish, so a keyed frame never overtakes a broadcast sent before it.
   */
  private readonly flushOutbox = (): void => {
    const frames = this.outbox;
    if (frames.length === 0) return;
    const keys = this.outboxKeys;
    this.outbox = [];
    this.outboxKeys = [];
    this.outboxBytes = 0;
    let start = 0;
    for (let i = 1; i <= frames.length; i++) {
      if (i < frames.length && keys[i] === keys[start]) continue;
      const bytes = i - start === 1 ? frames[start]! : this.batchOf(frames, start, i);
      const key = keys[start];
      if (key === undefined) this.transport.publish(bytes);
      else this.transport.publishKey?.(key, bytes);
      start = i;
    }
  };

  private batchOf(frames: Uint8Array[], start: number, end: number): Uint8Array {
    let size = 0;
    for (let i = start; i < end; i++) size += frames[i]!.length;
    const header = 2 + this.fromBytes.length;
    const batch = new Uint8Array(header + 4 * (end - start) + size);
    const view = new DataView(batch.buffer);
    batch[0] = FrameKind.Batch;
    batch[1] = this.fromBytes.length;
    batch.set(this.fromBytes, 2);
    let at = header;
    for (let i = start; i < end; i++) {
      const frame = frames[i]!;
      view.setUint32(at, frame.length);
      batch.set(frame, at + 4);
      at += 4 + frame.length;
    }
    return batch;
  }

  private wantedAllElsewhere(channel: string): boolean {
    if (this.remoteWantAll.size === 0) return false;
    for (const channels of this.remoteWantAll.values()) if (channels.has(channel)) return true;
    return false;
  }

  /** Whether a keyed frame that reached this node is wanted here (a broadcast one, or one that arrived while lingering). */
  private wants(channel: string, key: string): boolean {
    return this.wantAllRefs.has(channel) || this.interests.has(`${channel}:${key}`);
  }

  /**
   * A heartbeat carries the incarnation where data frames carry the channel, then the channels this
   * node wants all of (newline-separated; none, in the common case).
   */
  private heartbeat(): Uint8Array {
    const frame = this.frame(FrameKind.Heartbeat, this.incarnation);
    const wanted = this.wantAllBytes;
    if (wanted === undefined) return frame;
    const withWanted = new Uint8Array(frame.length + wanted.length);
    withWanted.set(frame);
    withWanted.set(wanted, frame.length);
    return withWanted;
  }

  private frame(kind: FrameKind, channel?: string, message?: Message): Uint8Array {
    const channelBytes = channel === undefined ? undefined : this.bytesOf(channel);
    const body = message === undefined ? undefined : clusterCodec.encode(message);
    const size = 2 + this.fromBytes.length + (channelBytes === undefined ? 0 : 1 + channelBytes.length + (body?.length ?? 0));
    const frame = new Uint8Array(size);
    frame[0] = kind;
    frame[1] = this.fromBytes.length;
    frame.set(this.fromBytes, 2);
    if (channelBytes !== undefined) {
      let at = 2 + this.fromBytes.length;
      frame[at++] = channelBytes.length;
      frame.set(channelBytes, at);
      if (body !== undefined) frame.set(body, at + channelBytes.length);
    }
    return frame;
  }

  /** Undefined when the key does not fit its u16 length. */
  private keyedFrame(channel: string, key: string, message: Message): Uint8Array | undefined {
    const channelBytes = this.bytesOf(channel);
    const keyBytes = encoder.encode(key);
    if (keyBytes.length > 0xffff) return undefined;
    const body = clusterCodec.encode(message);
    let at = 2 + this.fromBytes.length;
    const frame = new Uint8Array(at + 1 + channelBytes.length + 2 + keyBytes.length + body.length);
    frame[0] = FrameKind.Keyed;
    frame[1] = this.fromBytes.length;
    frame.set(this.fromBytes, 2);
    frame[at++] = channelBytes.length;
    frame.set(channelBytes, at);
    at += channelBytes.length;
    frame[at++] = keyBytes.length >> 8;
    frame[at++] = keyBytes.length & 0xff;
    frame.set(keyBytes, at);
    frame.set(body, at + keyBytes.length);
    return frame;
  }

  private bytesOf(channel: string): Uint8Array {
    let bytes = this.channelBytes.get(channel);
    if (bytes === undefined) this.channelBytes.set(channel, (bytes = encoder.encode(channel)));
    return bytes;
  }

  private receive(bytes: Uint8Array): void {
    const kind = bytes[0];
    const fromLength = bytes[1];
    // Anything that is not a whole frame of a known kind is dropped before it can make a peer.
    if (kind === undefined || kind > FrameKind.Keyed || !fromLength || 2 + fromLength > bytes.length) return this.malformed(bytes);
    const from = decoder.decode(bytes.subarray(2, 2 + fromLength));
    if (from === this.serverName) return;
    if (kind === FrameKind.Leaving) return this.nodeLeft(from, 'left');
    if (kind === FrameKind.Batch) return this.receiveBatch(bytes, 2 + fromLength);
    let at = 2 + fromLength;
    const channelLength = bytes[at++];
    if (channelLength === undefined || at + channelLength > bytes.length) return this.malformed(bytes);
    const channel = decoder.decode(bytes.subarray(at, at + channelLength));
    if (kind === FrameKind.Heartbeat) {
      const known = this.incarnations.get(from);
      if (known !== undefined && known !== channel) this.nodeLeft(from, 'restarted');
      this.incarnations.set(from, channel);
      this.heardWantAll(from, bytes.subarray(at + channelLength));
    }
    this.heard(from);
    if (kind === FrameKind.Ping) {
      this.flushOutbox(); // what we sent before must reach the asker before the answer
      return this.transport.publishTo(from, this.frame(FrameKind.Pong, channel));
    }
    if (kind === FrameKind.Pong) return this.answered(from, channel);
    if (kind === FrameKind.Keyed) return this.receiveKeyed(bytes, from, channel, at + channelLength);
    if (kind !== FrameKind.Data) return;
    if (!this.listeners.listening(channel)) return;
    const message = clusterCodec.decode(bytes.subarray(at + channelLength));
    if (message === undefined) return this.log.warn({ from, channel }, 'undecodable cluster message dropped');
    this.listeners.deliver(channel, message, from);
  }

  /** Dropped before decoding unless this node wants the key (filtering on arrival). */
  private receiveKeyed(bytes: Uint8Array, from: string, channel: string, at: number): void {
    if (at + 2 > bytes.length) return this.malformed(bytes);
    const keyLength = (bytes[at]! << 8) | bytes[at + 1]!;
    at += 2;
    if (at + keyLength > bytes.length) return this.malformed(bytes);
    if (!this.listeners.listening(channel)) return;
    const key = decoder.decode(bytes.subarray(at, at + keyLength));
    if (!this.wants(channel, key)) return;
    const message = clusterCodec.decode(bytes.subarray(at + keyLength));
    if (message === undefined) return this.log.warn({ from, channel }, 'undecodable cluster message dropped');
    this.listeners.deliver(channel, message, from);
  }

  private heardWantAll(from: string, body: Uint8Array): void {
    if (body.length === 0) {
      this.remoteWantAll.delete(from);
      return;
    }
    this.remoteWantAll.set(from, new Set(decoder.decode(body).split(CHANNEL_SEPARATOR)));
  }

  private malformed(bytes: Uint8Array): void {
    this.log.warn({ bytes: bytes.length }, 'malformed cluster frame dropped');
  }

  private receiveBatch(bytes: Uint8Array, start: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = start; at + 4 <= bytes.length; ) {
      const length = view.getUint32(at);
      if (at + 4 + length > bytes.length) return this.log.warn('truncated cluster batch dropped');
      this.receive(bytes.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
  }

  private heard(from: string): void {
    const known = this.lastHeard.has(from);
    this.lastHeard.set(from, Date.now());
    if (known) return;
    this.peers.add(from);
    this.log.info({ node: from }, 'cluster node joined');
    // Answer at once, so the newcomer learns about us without waiting a heartbeat.
    this.transport.publishTo(from, this.heartbeat());
    this.listeners.membershipChanged('join', from);
  }

  private dropSilentNodes(nodeTimeout: number): void {
    const limit = Date.now() - nodeTimeout;
    for (const [node, at] of this.lastHeard) if (at < limit) this.nodeLeft(node, 'timed out');
  }

  private nodeLeft(node: string, why: string): void {
    if (!this.lastHeard.delete(node)) return;
    this.peers.delete(node);
    if (why !== 'restarted') this.incarnations.delete(node);
    this.remoteWantAll.delete(node);
    for (const [id] of this.barriers) this.answered(node, id);
    this.log.warn({ node, why }, 'cluster node gone');
    this.listeners.membershipChanged('leave', node);
  }
}
