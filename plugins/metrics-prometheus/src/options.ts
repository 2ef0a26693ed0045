import { Type, type Static } from '@deepstream-ts/core';

export const METRICS_OPTIONS = Type.Object({
  /** Where Prometheus scrapes; served by prefix like every route. */
  path: Type.String({ pattern: '^/', expected: 'a path starting with "/"', default: '/metrics' }),
  /** Prepended to every metric name of this plugin. */
  prefix: Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$', expected: 'a valid Prometheus metric name prefix', default: 'deepstream_' }),
  /** Also export prom-client's Node.js process metrics (CPU, memory, event loop lag, GC). */
  processMetrics: Type.Boolean({ default: true }),
  /** Time every kernel hook tap by plugin. Costs a clock read per tap call: for profiling. */
  hookTimings: Type.Boolean({ default: false }),
  /** Time the `storage` and `cache` connectors' operations and count their errors. */
  connectorMetrics: Type.Boolean({ default: true }),
  /** When set, scrapes must send `Authorization: Bearer <token>`; others get 401. */
  token: Type.Optional(Type.String({ minLength: 1, writeOnly: true })),
});

export type MetricsOptions = Static<typeof METRICS_OPTIONS>;
