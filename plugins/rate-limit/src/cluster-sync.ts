import { TOPIC, type ClusterBus, type Message } from '@deepstream-ts/core';
import type { KeyedBuckets } from './keyed-buckets.ts';

const CHANNEL = 'rate-limit/counts';

/** What one node tells the others: per limit, the messages each key sent it since the last sync. */
type Counts = Record<string, Record<string, number>>;

/**
 * Makes perUser and perAddress limits cluster-wide without a round trip per message: each node
 * counts locally (the hot path stays a synchronous bucket check), and every `interval` ms sends
 * the others what each key took since; they debit their own buckets for that key. So a client
 * spread over N nodes gets at most its burst on each node, plus what one interval lets through,
 * before every node has heard of it: approximate by design, exact on one node.
 */
export function attachClusterSync(bus: ClusterBus, limits: Readonly<Record<string, KeyedBuckets>>, interval: number, now: () => number): () => void {
  const unsubscribe = bus.subscribe(CHANNEL, (message) => {
    let counts: Counts;
    try {
      counts = JSON.parse(message.data ?? '{}') as Counts;
    } catch {
      return;
    }
    const at = now();
    for (const [scope, perKey] of Object.entries(counts)) {
      const buckets = Object.hasOwn(limits, scope) ? limits[scope] : undefined;
      if (buckets === undefined || perKey === null || typeof perKey !== 'object') continue;
      for (const [key, count] of Object.entries(perKey)) if (typeof count === 'number' && count > 0) buckets.debit(key, count, at);
    }
  });
  const timer = setInterval(() => {
    if (bus.peers.size === 0) return; // alone: nobody to tell (the sweep knows not to wait for it)
    const counts: Counts = {};
    let any = false;
    for (const [scope, buckets] of Object.entries(limits)) {
      const perKey: Record<string, number> = {};
      for (const [key, bucket] of buckets.buckets) {
        if (bucket.taken === 0) continue;
        perKey[key] = bucket.taken;
        bucket.taken = 0;
        any = true;
      }
      counts[scope] = perKey;
    }
    if (any) bus.send(CHANNEL, { topic: TOPIC.CONNECTION, action: 0, data: JSON.stringify(counts) } as Message);
  }, interval);
  timer.unref();
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
