import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ClusterTransport } from '@deepstream-ts/core';
import { redactUrl } from '@deepstream-ts/core';

/** Where the bus is: one Redis server, a master found through Sentinel, or a Redis Cluster. */
export type RedisTarget =
  | { url: string }
  | { sentinels: ReadonlyArray<{ host: string; port: number }>; /** The master group's name. */ name: string; password?: string; sentinelPassword?: string }
  | { cluster: { nodes: readonly string[] }; password?: string };

export type RedisTransportOptions = RedisTarget & {
  /** Prepended to the pub/sub channel names, so that several clusters can share one Redis. */
  channelPrefix: string;
};

/** Channels per SUBSCRIBE / UNSUBSCRIBE command: a big batch of keys leaves in a few commands, none huge. */
const KEYS_PER_COMMAND = 1000;

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);
/** A Redis Cluster's slot map is read again this often, whatever happens (ioredis 5 does not by default). */
const SLOTS_REFRESH_MS = 5_000;
/** Replies that say the publisher's slot map is out of date. */
const STALE_SLOTS = /^(MOVED|ASK|CLUSTERDOWN) /;

/**
 * Moves cluster frames over Redis pub/sub: one channel for broadcasts, one per node for direct
 * sends, one per key for interest-based traffic. Frames are binary; nothing here knows what they
 * mean. Two clients, as Redis requires: a subscriber connection can only subscribe.
 *
 * On one Redis server (given by URL or found through Sentinel) all publishes leave on the one
 * publisher connection and all channels arrive on the one subscriber connection, so one sender's
 * frames arrive in the order sent, whatever mix of channels.
 *
 * On a Redis Cluster it uses sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7): a channel lives on
 * the shard of its slot, and a frame goes to that shard only instead of being forwarded to every
 * node of the cluster. The broadcast and direct channels share a hash tag, hence one slot and one
 * shard: one sender's bus frames keep their order, as on one server. Each key's channel hashes on
 * its own, spreading keyed traffic over the shards; order is then kept per key.
 */
export class RedisTransport implements ClusterTransport {
  readonly description: string;
  private readonly publisher: Redis | Cluster;
  private readonly subscriber: Redis | Cluster;
  private readonly sharded: boolean;
  private readonly broadcastChannel: string;
  private readonly nodePrefix: string;
  private readonly keyPrefix: string;
  private closed = false;

  constructor(options: RedisTransportOptions) {
    const prefix = options.channelPrefix;
    this.sharded = 'cluster' in options;
    // The hash tag (`{…}`) puts every bus channel of this prefix in one slot; never empty, as `{}` tags nothing.
    const bus = this.sharded ? `{${prefix}bus}` : prefix;
    this.broadcastChannel = `${bus}all`;
    this.nodePrefix = `${bus}node:`;
    this.keyPrefix = `${prefix}key:`;

    const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy };
    // Auto-pipelining: the PUBLISHes of one event-loop turn leave in one socket write, not one each
    // (on a Cluster, one per shard). A publisher without an offline queue drops frames while
    // disconnected rather than delivering them late.
    const publisherOptions: RedisOptions = { ...common, enableOfflineQueue: false, enableAutoPipelining: true };
    // The subscriber keeps its offline queue and retries without limit: a subscription asked for
    // during a reconnect waits for it, and resolves only once registered, instead of failing.
    // ioredis subscribes every channel again after a reconnect by itself.
    const subscriberOptions: RedisOptions = { ...common, maxRetriesPerRequest: null };

    if ('url' in options) {
      this.description = `redis:${redactUrl(options.url)}`;
      this.publisher = new Redis(options.url, publisherOptions);
      this.subscriber = new Redis(options.url, subscriberOptions);
    } else if ('sentinels' in options) {
      const where = options.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
      this.description = `redis-sentinel:${options.name}@${where}`;
      const sentinel: RedisOptions = { sentinels: [...options.sentinels], name: options.name, password: options.password, sentinelPassword: options.sentinelPassword };
      this.publisher = new Redis({ ...publisherOptions, ...sentinel });
      this.subscriber = new Redis({ ...subscriberOptions, ...sentinel });
    } else {
      this.description = `redis-cluster:${options.cluster.nodes.map(redactUrl).join(',')}`;
      const nodes = [...options.cluster.nodes];
      const cluster = (redis: RedisOptions, more: ClusterOptions): ClusterOptions => ({
        lazyConnect: true,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshInterval: SLOTS_REFRESH_MS,
        redisOptions: { password: options.password, maxRetriesPerRequest: redis.maxRetriesPerRequest },
        ...more,
      });
      // Unlike on one server, the publisher keeps an offline queue: ioredis opens the connection to
      // a shard on its first command and refuses commands while it is opening, which would drop
      // the first frames of every key on a shard not yet used.
      this.publisher = new Cluster(nodes, cluster(publisherOptions, { enableOfflineQueue: true, enableAutoPipelining: true }));
      // One subscriber connection per shard that holds a subscribed channel, opened on demand;
      // after a shard restarts or the slots move, ioredis subscribes its channels again on the owner.
      this.subscriber = new Cluster(nodes, cluster(subscriberOptions, { shardedSubscribers: true }));
    }
    // Errors surface as missed heartbeats; the connections reconnect by themselves.
    this.publisher.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
  }

  async start(serverName: string, receive: (bytes: Uint8Array) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', (_channel: Buffer, message: Buffer) => receive(message));
    await this.subscribe([this.broadcastChannel, this.nodePrefix + serverName]);
  }

  publish(bytes: Uint8Array): void {
    this.send(this.broadcastChannel, bytes);
  }

  publishTo(serverName: string, bytes: Uint8Array): void {
    this.send(this.nodePrefix + serverName, bytes);
  }

  /** Resolves on Redis's (S)SUBSCRIBE replies: from then on a publish to these channels reaches this node. */
  async subscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.closed || keys.length === 0) return;
    await this.subscribe(keys.map((key) => this.keyPrefix + key));
  }

  async unsubscribeKeys(keys: readonly string[]): Promise<void> {
    if (this.closed || keys.length === 0) return;
    const channels = keys.map((key) => this.keyPrefix + key);
    if (this.sharded) await Promise.all(channels.map((channel) => this.subscriber.sunsubscribe(channel)));
    else await Promise.all(chunks(channels).map((some) => this.subscriber.unsubscribe(...some)));
  }

  publishKey(key: string, bytes: Uint8Array): void {
    this.send(this.keyPrefix + key, bytes);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private send(channel: string, bytes: Uint8Array): void {
    if (!this.sharded) return void this.publisher.publish(channel, asBuffer(bytes)).catch(() => undefined);
    this.publisher.spublish(channel, asBuffer(bytes)).catch(this.onPublishError);
  }

  /**
   * Once a connection to a restarted shard has failed, ioredis (5.11) leaves that node out of its
   * pool and sends the shard's auto-pipelined SPUBLISHes to another node; that node answers MOVED,
   * and a pipeline of writes is rejected without the slot map being read again, so the shard would
   * stay unreachable. Reading the map again puts the node back (ioredis runs one refresh at a time).
   */
  private readonly onPublishError = (error: unknown): void => {
    if (!this.closed && error instanceof Error && STALE_SLOTS.test(error.message)) (this.publisher as Cluster).refreshSlotsCache();
  };

  private async subscribe(channels: string[]): Promise<void> {
    // SSUBSCRIBE takes channels of one slot only: one command per channel (keys rarely share a slot).
    if (this.sharded) await Promise.all(channels.map((channel) => this.subscriber.ssubscribe(channel)));
    else await Promise.all(chunks(channels).map((some) => this.subscriber.subscribe(...some)));
  }
}

function chunks(channels: string[]): string[][] {
  if (channels.length <= KEYS_PER_COMMAND) return [channels];
  const out: string[][] = [];
  for (let i = 0; i < channels.length; i += KEYS_PER_COMMAND) out.push(channels.slice(i, i + KEYS_PER_COMMAND));
  return out;
}
