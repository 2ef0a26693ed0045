export interface MetricsOptions {
  /** Where Prometheus scrapes; served by prefix like every route. */
  path: string;
  /** Prepended to every metric name of this plugin. */
  prefix: string;
  /** Also export prom-client's Node.js process metrics (CPU, memory, event loop lag, GC). */
  processMetrics: boolean;
  /** Time every kernel hook tap by plugin. Costs a clock read per tap call: for profiling. */
  hookTimings: boolean;
  /** Time the `storage` and `cache` connectors' operations and count their errors. */
  connectorMetrics: boolean;
}

export const DEFAULT_OPTIONS: MetricsOptions = {
  path: '/metrics',
  prefix: 'deepstream_',
  processMetrics: true,
  hookTimings: false,
  connectorMetrics: true,
};

export function checkOptions(options: MetricsOptions): void {
  if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new TypeError(`metrics option "path" must start with "/", got ${JSON.stringify(options.path)}`);
  if (typeof options.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(options.prefix)) {
    throw new TypeError(`metrics option "prefix" must be a valid Prometheus metric name prefix, got ${JSON.stringify(options.prefix)}`);
  }
  for (const key of ['processMetrics', 'hookTimings', 'connectorMetrics'] as const) {
    if (typeof options[key] !== 'boolean') throw new TypeError(`metrics option "${key}" must be a boolean, got ${JSON.stringify(options[key])}`);
  }
}
