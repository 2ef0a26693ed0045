/** What one check found. `reason` says what is wrong, for the operator reading the 503 body. */
export interface HealthCheckResult {
  readonly ok: boolean;
  readonly reason?: string;
}

/** A named check; it may be slow or throw: the registry bounds it and turns a throw into a failure. */
export type HealthCheck = () => HealthCheckResult | Promise<HealthCheckResult>;

/** The `health` service: plugins and connectors register what "healthy" means for them. */
export interface HealthChecks {
  /** Adds a check under a unique name; returns the function that removes it. */
  register(name: string, check: HealthCheck): () => void;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, HealthCheckResult>>;
}

/**
 * Every registered check, run together with a deadline each. Requests that arrive while a run is
 * going share it, so a burst of probes costs one run.
 */
export class HealthRegistry implements HealthChecks {
  private readonly checks = new Map<string, HealthCheck>();
  private running: Promise<HealthReport> | undefined;

  constructor(private readonly timeout: number) {}

  register(name: string, check: HealthCheck): () => void {
    if (this.checks.has(name)) throw new Error(`a health check named "${name}" is already registered`);
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  run(): Promise<HealthReport> {
    this.running ??= this.runAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runAll(): Promise<HealthReport> {
    const entries = [...this.checks];
    const results = await Promise.all(entries.map(([, check]) => this.runOne(check)));
    const checks: Record<string, HealthCheckResult> = {};
    entries.forEach(([name], i) => (checks[name] = results[i]!));
    return { ok: results.every((result) => result.ok), checks };
  }

  private async runOne(check: HealthCheck): Promise<HealthCheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<HealthCheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${this.timeout} ms` }), this.timeout);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(check), deadline]);
      return result.ok || result.reason !== undefined ? result : { ok: false, reason: 'unhealthy' };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
