import { Counter, Histogram, type Registry } from 'prom-client';
import type { RecordStorage } from '@deepstream-ts/core';

type Method = (...args: unknown[]) => Promise<unknown>;

/** The connector calls worth timing: every RecordStorage and RecordCache data operation. */
const OPERATIONS = ['get', 'set', 'delete', 'deleteBulk', 'head', 'headBulk'] as const;

const BUCKETS = [0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface ConnectorMetrics {
  /** Times the connector's operations until `restore` is called. False when it cannot be wrapped (frozen). */
  instrument(service: string, connector: RecordStorage): boolean;
  /** Puts back the original methods. */
  restore(): void;
}

/**
 * Connector latency and errors without a kernel interface for them: the metrics plugin wraps the
 * data methods of the `storage` and `cache` service objects in place (own properties shadowing the
 * class methods), so every caller, whichever plugin holds the object, is measured.
 */
export function connectorMetrics(registry: Registry, prefix: string): ConnectorMetrics {
  const duration = new Histogram({
    name: `${prefix}connector_operation_duration_seconds`,
    help: 'Storage and cache connector calls, by connector service and operation (failed calls included)',
    labelNames: ['connector', 'operation'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: `${prefix}connector_errors_total`,
    help: 'Storage and cache connector calls that failed, by connector service and operation',
    labelNames: ['connector', 'operation'],
    registers: [registry],
  });
  const restores: Array<() => void> = [];
  return {
    instrument(service, connector) {
      if (Object.isFrozen(connector)) return false;
      const target = connector as unknown as Record<string, Method>;
      for (const operation of OPERATIONS) {
        const original = target[operation];
        if (typeof original !== 'function') continue;
        const labels = { connector: service, operation };
        const observe = duration.labels(labels).observe;
        const failed = errors.labels(labels);
        const hadOwn = Object.hasOwn(target, operation);
        target[operation] = async (...args) => {
          const start = process.hrtime.bigint();
          try {
            return await original.apply(connector, args);
          } catch (error) {
            failed.inc();
            throw error;
          } finally {
            observe(Number(process.hrtime.bigint() - start) / 1e9);
          }
        };
        restores.push(() => {
          if (hadOwn) target[operation] = original;
          else delete target[operation];
        });
      }
      return true;
    },
    restore() {
      for (const restore of restores.splice(0)) restore();
    },
  };
}
