import { Redis } from 'ioredis';
import type { ClusterTransport } from '@deepstream-ts/core';
import { redactUrl } from '@deepstream-ts/core';

export interface RedisTransportOptions {
  url: string;
  /** Prepended to the pub/sub channel names, so that several clusters can share one Redis. */
  channelPrefix: string;
}

/** Channels per SUBSCRIBE / UNSUBSCRIBE command: a big batch of keys leaves in a few commands, none huge. */
const KEYS_PER_COMMAND = 1000;

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Moves cluster frames over Redis pub/sub: one channel for broadcasts, one per node for direct
 * sends, one per key for interest-based traffic. Two connections, as Redis requires: a subscriber
 * connection can only subscribe. All publishes leave on the one publisher connection and all
 * channels arrive on the one subscriber connection, so one sender's frames arrive in the order
 * sent, whatever mix of channels. Frames are binary; nothing here knows what they mean.
 */
export class RedisTransport implements ClusterTransport {
  readonly description: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly broadcastChannel: string;
  private readonly keyPrefix: string;
  private closed = false;

  constructor(private readonly options: RedisTransportOptions) {
    this.description = `redis:${redactUrl(options.url)}`;
    this.broadcastChannel = `${options.channelPrefix}all`;
    this.keyPrefix = `${options.channelPrefix}key:`;
    const common = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000) };
    // Auto-pipelining: the PUBLISHes of one event-loop turn leave in one socket write, not one each.
    this.publisher = new Redis(options.url, { ...common, enableOfflineQueue: false, enableAutoPipelining: true });
    // The subscriber keeps its offline queue: a subscription asked for during a reconnect waits
    // for it (and resolves only once registered) instead of failing; ioredis resubscribes every
    // channel after a reconnect by itself.
    this.subscriber = new Redis(options.url, { ...common, maxRetriesPerRequest: null });
    // Errors surface as missed heartbeats; the connections reconnect by themselves.
    this.publisher.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
  }

  async start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => receive(message));
    await this.subscriber.subscribe(this.broadcastChannel, this.nodeChannel(serverName));
  }

  publish(bytes: Uint8Array): void {
    this.publisher.publish(this.broadcastChannel, asBuffer(bytes)).catch(() => undefined);
  }

  publishTo(serverName: string, bytes: Uint8Array): void {
    this.publisher.publish(this.nodeChannel(serverName), asBuffer(bytes)).catch(() => undefined);
  }

  /** Resolves on Redis's SUBSCRIBE replies: from then on a PUBLISH to these channels reaches this node. */
  async subscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.closed || keys.length === 0) return;
    await Promise.all(this.chunks(keys).map((channels) => this.subscriber.subscribe(...channels)));
  }

  async unsubscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.closed || keys.length === 0) return;
    await Promise.all(this.chunks(keys).map((channels) => this.subscriber.unsubscribe(...channels)));
  }

  publishKey(key: string, bytes: Uint8Array): void {
    this.publisher.publish(this.keyPrefix + key, asBuffer(bytes)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private nodeChannel(serverName: string): string {
    return `${this.options.channelPrefix}node:${serverName}`;
  }

  private chunks(keys: readonly string[]): string[][] {
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_COMMAND) chunks.push(keys.slice(i, i + KEYS_PER_COMMAND).map((key) => this.keyPrefix + key));
    return chunks;
  }
}
