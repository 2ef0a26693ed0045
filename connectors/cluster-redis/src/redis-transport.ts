import { Redis } from 'ioredis';
import type { ClusterTransport } from '@deepstream-ts/core';
import { redactUrl } from '@deepstream-ts/core';

export interface RedisTransportOptions {
  url: string;
  /** Prepended to the pub/sub channel names, so that several clusters can share one Redis. */
  channelPrefix: string;
}

/**
 * Moves cluster frames over Redis pub/sub: one channel for broadcasts, one per node for direct
 * sends. Two connections, as Redis requires: a subscriber connection can only subscribe.
 * Frames are binary; nothing here knows what they mean.
 */
export class RedisTransport implements ClusterTransport {
  readonly description: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly broadcastChannel: string;

  constructor(private readonly options: RedisTransportOptions) {
    this.description = `redis:${redactUrl(options.url)}`;
    this.broadcastChannel = `${options.channelPrefix}all`;
    const common = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000) };
    // Auto-pipelining: the PUBLISHes of one event-loop turn leave in one socket write, not one each.
    this.publisher = new Redis(options.url, { ...common, enableOfflineQueue: false, enableAutoPipelining: true });
    this.subscriber = new Redis(options.url, common);
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
    this.publisher.publish(this.broadcastChannel, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).catch(() => undefined);
  }

  publishTo(serverName: string, bytes: Uint8Array): void {
    this.publisher.publish(this.nodeChannel(serverName), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private nodeChannel(serverName: string): string {
    return `${this.options.channelPrefix}node:${serverName}`;
  }
}
