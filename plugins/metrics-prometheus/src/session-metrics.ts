import { Counter, Gauge, type Registry } from 'prom-client';
import type { KernelHooks, Session } from '@deepstream-ts/core';

/**
 * Connections by transport (WebSocket clients, HTTP API requests, ...) and logged-in sessions, from
 * the `connection`, `authenticated` and `disconnect` hooks.
 */
export function countSessions(hooks: KernelHooks, tapName: string, registry: Registry, prefix: string): void {
  const opened = new Counter({ name: `${prefix}connections_opened_total`, help: 'Connections opened, by transport', labelNames: ['transport'], registers: [registry] });
  const open = new Gauge({ name: `${prefix}connections`, help: 'Connections open now, by transport', labelNames: ['transport'], registers: [registry] });
  const authenticated = new Gauge({ name: `${prefix}sessions_authenticated`, help: 'Logged-in sessions open now', registers: [registry] });
  const loggedIn = new WeakSet<Session>();
  hooks.connection.tap(tapName, (session) => {
    opened.inc({ transport: session.info.transport });
    open.inc({ transport: session.info.transport });
  });
  hooks.authenticated.tap(tapName, (session) => {
    loggedIn.add(session);
    authenticated.inc();
  });
  hooks.disconnect.tap(tapName, (session) => {
    open.dec({ transport: session.info.transport });
    if (loggedIn.delete(session)) authenticated.dec();
  });
}

/** Failures the kernel caught in plugin taps and topic handlers, by hook and plugin. */
export function countHookErrors(hooks: KernelHooks, tapName: string, registry: Registry, prefix: string): void {
  const errors = new Counter({ name: `${prefix}hook_errors_total`, help: 'Plugin taps and topic handlers that threw, by hook and plugin', labelNames: ['hook', 'plugin'], registers: [registry] });
  hooks.error.tap(tapName, ({ hook, plugin }) => errors.inc({ hook, plugin }));
}
