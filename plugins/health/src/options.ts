export interface HealthOptions {
  /** Served by prefix, like every route: `/health-check/x` is the health check too. */
  path: string;
  /** Milliseconds each check may take before it counts as failed. */
  checkTimeout: number;
  /** Read a missing record from the `storage` and `cache` services on every check. */
  probeConnectors: boolean;
  /** Send the JSON report with 200 too (the reference answers 200 with an empty body). */
  details: boolean;
}

export const DEFAULT_OPTIONS: HealthOptions = {
  path: '/health-check',
  checkTimeout: 2000,
  probeConnectors: true,
  details: false,
};

export function checkOptions(options: HealthOptions): void {
  if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new TypeError(`health option "path" must start with "/", got ${JSON.stringify(options.path)}`);
  if (!Number.isInteger(options.checkTimeout) || options.checkTimeout < 1) {
    throw new TypeError(`health option "checkTimeout" must be a positive integer, got ${JSON.stringify(options.checkTimeout)}`);
  }
  for (const key of ['probeConnectors', 'details'] as const) {
    if (typeof options[key] !== 'boolean') throw new TypeError(`health option "${key}" must be a boolean, got ${JSON.stringify(options[key])}`);
  }
}
