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
  // Sessions per user id, kept as they log in and leave, so the distinct count costs nothing to read.
  const users = new Map<string, number>();
  new Gauge({
    name: `${prefix}online_users`,
    help: 'Distinct user ids with a logged-in connection on this node (HTTP API requests not counted)',
    registers: [registry],
    collect() {
      this.set(users.size);
    },
  });
  const loggedIn = new WeakSet<Session>();
  hooks.connection.tap(tapName, (session) => {
    opened.inc({ transport: session.info.transport });
    open.inc({ transport: session.info.transport });
  });
  hooks.authenticated.tap(tapName, (session) => {
    loggedIn.add(session);
    authenticated.inc();
    const user = session.userId;
    if (user !== undefined && session.info.ephemeral !== true) users.set(user, (users.get(user) ?? 0) + 1);
  });
  hooks.disconnect.tap(tapName, (session) => {
    open.dec({ transport: session.info.transport });
    if (!loggedIn.delete(session)) return;
    authenticated.dec();
    const user = session.userId;
    if (user === undefined || session.info.ephemeral === true) return;
    const left = (users.get(user) ?? 1) - 1;
    if (left > 0) users.set(user, left);
    else users.delete(user);
  });
}

/** Failures the kernel caught in plugin taps and topic handlers, by hook and plugin. */
export function countHookErrors(hooks: KernelHooks, tapName: string, registry: Registry, prefix: string): void {
  const errors = new Counter({ name: `${prefix}hook_errors_total`, help: 'Plugin taps and topic handlers that threw, by hook and plugin', labelNames: ['hook', 'plugin'], registers: [registry] });
  hooks.error.tap(tapName, ({ hook, plugin }) => errors.inc({ hook, plugin }));
}
