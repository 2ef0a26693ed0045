import { performance } from 'node:perf_hooks';
import { CONNECTION_ACTION, TOPIC, definePlugin, type Session } from '@deepstream-ts/core';
import { attachClusterSync } from './cluster-sync.ts';
import { KeyedBuckets } from './keyed-buckets.ts';
import { RATE_LIMIT_OPTIONS, resolveLimits, type RateLimit, type RateLimitOptions, type Scope } from './options.ts';
import { TokenBucket } from './token-bucket.ts';

export type { RateLimitOptions, RateLimitSetting } from './options.ts';

/** Marks a session already told and closing: its remaining messages are dropped without a word. */
const EXCEEDED = 'exceeded';

const SCOPE_WORDS: Record<Scope, string> = { perConnection: 'per connection', perUser: 'per user', perAddress: 'per address' };

/** The CONNECTION ERROR texts for one limit, built once: WebSocket clients are closed, HTTP requests are not. */
function reasons(scope: Scope, limit: RateLimit): { closed: string; dropped: string } {
  const text = `RATE_LIMIT_EXCEEDED: more than ${limit.messagesPerSecond} messages per second (burst ${limit.burst}) ${SCOPE_WORDS[scope]} (${scope})`;
  return { closed: JSON.stringify(`${text}; the connection is closed`), dropped: JSON.stringify(`${text}; the message was dropped`) };
}

/**
 * Message rate limits on the `inbound` hook: a token bucket per connection, per user id and per
 * remote address, each optional. WebSocket messages and HTTP API requests (a transient session
 * each) count alike. A WebSocket client over a limit gets one CONNECTION ERROR saying which and
 * is disconnected (one warn line); an HTTP request gets that error for each message over the
 * limit, which the HTTP API reports as that request's failure. PING is answered before `inbound`
 * and never counts; login traffic is bounded by `maxAuthAttempts`.
 */
export const rateLimit = definePlugin<RateLimitOptions>({
  package: import.meta.url,
  options: RATE_LIMIT_OPTIONS,
  setup(ctx) {
    const limits = resolveLimits(ctx.name, ctx.options);
    const { perConnection } = limits;
    const perUser = limits.perUser && new KeyedBuckets(limits.perUser);
    const perAddress = limits.perAddress && new KeyedBuckets(limits.perAddress);
    const connectionReasons = perConnection && reasons('perConnection', perConnection);
    const userReasons = limits.perUser && reasons('perUser', limits.perUser);
    const addressReasons = limits.perAddress && reasons('perAddress', limits.perAddress);
    // Weak: a closed session's bucket goes with it, no disconnect bookkeeping needed.
    const connections = new WeakMap<Session, TokenBucket | typeof EXCEEDED>();

    const refuse = (session: Session, scope: Scope, limit: RateLimit, texts: { closed: string; dropped: string }): 'drop' => {
      if (session.info.ephemeral === true) {
        // An HTTP request: nothing to disconnect; the API turns this into the request's failure.
        session.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ERROR, isError: true, data: texts.dropped });
        return 'drop';
      }
      connections.set(session, EXCEEDED);
      ctx.log.warn(
        { session: session.id, user: session.userId, remoteAddress: session.info.remoteAddress, limit: scope, ...limit },
        'disconnecting a client over the message rate limit',
      );
      session.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ERROR, isError: true, data: texts.closed });
      session.close();
      return 'drop';
    };

    ctx.hooks.inbound.tap(ctx.name, (session) => {
      const now = performance.now();
      let bucket = connections.get(session);
      if (bucket === EXCEEDED) return 'drop';
      if (perConnection !== undefined) {
        if (bucket === undefined) connections.set(session, (bucket = new TokenBucket(perConnection.messagesPerSecond, perConnection.burst, now)));
        if (!bucket.take(now)) return refuse(session, 'perConnection', perConnection, connectionReasons!);
      }
      if (perUser !== undefined && !perUser.take(session.userId ?? '', now)) return refuse(session, 'perUser', perUser.limit, userReasons!);
      if (perAddress !== undefined && !perAddress.take(session.info.remoteAddress, now)) return refuse(session, 'perAddress', perAddress.limit, addressReasons!);
      return undefined;
    });

    const keyed: Record<string, KeyedBuckets> = {};
    if (perUser !== undefined) keyed.perUser = perUser;
    if (perAddress !== undefined) keyed.perAddress = perAddress;
    if (perUser === undefined && perAddress === undefined) return;
    const cluster = ctx.use('cluster');
    const sweep = setInterval(() => {
      const now = performance.now();
      // Alone, counts are never reported, so they need not be kept for the next sync.
      const clustered = cluster.peers.size > 0;
      for (const buckets of Object.values(keyed)) buckets.sweep(now, clustered);
    }, limits.sweepInterval);
    sweep.unref();
    ctx.onClose(() => clearInterval(sweep));
    ctx.onClose(attachClusterSync(cluster, keyed, limits.clusterSyncInterval, () => performance.now()));
  },
});

export default rateLimit;
