import { TokenBucket } from './token-bucket.ts';
import type { RateLimit } from './options.ts';

/**
 * One token bucket per key (a user id, an address). Memory is bounded by the keys active
 * recently: `sweep` drops every bucket that has refilled completely, which is exactly a new one.
 */
export class KeyedBuckets {
  readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly limit: RateLimit) {}

  take(key: string, now: number): boolean {
    return this.bucket(key, now).take(now);
  }

  /** Messages other nodes took for `key` (cluster-wide limits). */
  debit(key: string, count: number, now: number): void {
    this.bucket(key, now).debit(count, now);
  }

  /** `keepUnreported`: keep buckets whose counts the other nodes have not been sent yet. */
  sweep(now: number, keepUnreported: boolean): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now) && !(keepUnreported && bucket.taken > 0)) this.buckets.delete(key);
  }

  private bucket(key: string, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, (bucket = new TokenBucket(this.limit.messagesPerSecond, this.limit.burst, now)));
    return bucket;
  }
}
