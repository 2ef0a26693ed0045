import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { CONNECTION_ACTION, TOPIC, definePlugin, type Session } from '@deepstream-ts/core';
import { checkOptions, type RateLimitOptions } from './options.ts';
import { TokenBucket } from './token-bucket.ts';

export type { RateLimitOptions } from './options.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** Marks a session already told and closing: its remaining messages are dropped without a word. */
const EXCEEDED = 'exceeded';

/**
 * Per-connection message rate limit: a token bucket per session on the `inbound` hook. A client
 * over the limit gets one CONNECTION ERROR saying so and is disconnected; one warn line is logged.
 * PING is answered before `inbound` and never counts; login traffic is bounded by `maxAuthAttempts`.
 */
export const rateLimit = definePlugin<RateLimitOptions>({
  name,
  version,
  kernel: '^0.1.0',
  defaults: {},
  setup(ctx) {
    const limit = checkOptions(ctx.options);
    const reason = JSON.stringify(
      `RATE_LIMIT_EXCEEDED: more than ${limit.messagesPerSecond} messages per second (burst ${limit.burst}); the connection is closed`,
    );
    // Weak: a closed session's bucket goes with it, no disconnect bookkeeping needed.
    const buckets = new WeakMap<Session, TokenBucket | typeof EXCEEDED>();

    ctx.hooks.inbound.tap(ctx.name, (session) => {
      const now = performance.now();
      let bucket = buckets.get(session);
      if (bucket === undefined) buckets.set(session, (bucket = new TokenBucket(limit.messagesPerSecond, limit.burst, now)));
      if (bucket === EXCEEDED) return 'drop';
      if (bucket.take(now)) return undefined;
      buckets.set(session, EXCEEDED);
      ctx.log.warn(
        { session: session.id, user: session.userId, remoteAddress: session.info.remoteAddress, ...limit },
        'disconnecting a client over the message rate limit',
      );
      session.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ERROR, isError: true, data: reason });
      session.close();
      return 'drop';
    });
  },
});

export default rateLimit;
