import type { KernelHooks, RecordStorage } from '@deepstream-ts/core';
import type { HealthCheck } from './registry.ts';

/** A record name nobody uses: reading it asks the connector a real question and changes nothing. */
export const PROBE_RECORD = '__deepstream-ts/health-check__';

/**
 * The kernel's own state from its hooks: healthy from `ready` (listening) until `beforeShutdown`,
 * with the number of open sessions (clients and HTTP requests) for the report.
 */
export function kernelCheck(hooks: KernelHooks, name: string): { check: HealthCheck; sessions(): number } {
  let phase: 'starting' | 'ready' | 'stopping' = 'starting';
  let sessions = 0;
  hooks.ready.tap(name, () => void (phase = 'ready'));
  hooks.beforeShutdown.tap(name, () => void (phase = 'stopping'));
  hooks.connection.tap(name, () => void sessions++);
  hooks.disconnect.tap(name, () => void sessions--);
  const reasons = { starting: 'the server is starting', stopping: 'the server is shutting down' } as const;
  return {
    check: () => (phase === 'ready' ? { ok: true } : { ok: false, reason: reasons[phase] }),
    sessions: () => sessions,
  };
}

/** Storage and cache connectors answer a read of a record that does not exist. */
export function connectorCheck(connector: RecordStorage): HealthCheck {
  return async () => {
    await connector.get(PROBE_RECORD);
    return { ok: true };
  };
}
