import { Type, type Static } from '@deepstream-ts/core';

export const HEALTH_OPTIONS = Type.Object({
  /** Served by prefix, like every route: `/health-check/x` is the health check too. */
  path: Type.String({ pattern: '^/', expected: 'a path starting with "/"', default: '/health-check' }),
  /** Milliseconds each check may take before it counts as failed. */
  checkTimeout: Type.Integer({ minimum: 1, default: 2000 }),
  /** Read a missing record from the `storage` and `cache` services on every check. */
  probeConnectors: Type.Boolean({ default: true }),
  /** Send the JSON report with 200 too (the reference answers 200 with an empty body). */
  details: Type.Boolean({ default: false }),
});

export type HealthOptions = Static<typeof HEALTH_OPTIONS>;
