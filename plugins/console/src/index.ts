import { definePlugin, invalidOptions, type Session } from '@deepstream-ts/core';
import { actionLog } from './action-log.ts';
import { Agent } from './agent.ts';
import { takeFigures, type NodeFigures } from './figures.ts';
import { STATS_EVENT } from './names.ts';
import { CONSOLE_OPTIONS, type ConsoleOptions } from './options.ts';
import { Operators } from './operators.ts';
import { consoleRoutes } from './page.ts';
import { provideRpcs } from './rpcs.ts';
import { SessionTable } from './sessions.ts';
import { Traffic } from './traffic.ts';

/**
 * The operator console (issue 21): a page under `path` that is itself a deepstream client, and the
 * server side it talks to: per-node figures published as an event, RPCs to list and disconnect
 * sessions, all on a reserved name prefix only operators may use. Edits, emits and calls from the
 * page are ordinary client messages, so permissions, versions and subscribers apply as for anyone.
 */
export const operatorConsole = definePlugin<ConsoleOptions>({
  package: import.meta.url,
  // The agent speaks through them: without events no figures arrive, without RPC no session list.
  dependencies: { '@deepstream-ts/plugin-events': '^0.1.0', '@deepstream-ts/plugin-rpc': '^0.1.0' },
  options: CONSOLE_OPTIONS,
  setup(ctx) {
    const { options, serverName } = ctx;
    if (options.operators.length === 0 && options.operatorToken === undefined) {
      throw invalidOptions(ctx.name, 'names no operator: set "operators" (user ids) or "operatorToken", or nobody can use the console');
    }
    const operators = new Operators(options.operators, options.operatorToken, options.tokenOperator);
    const agent = new Agent(ctx.log);
    operators.setAgent(agent.info);
    const inspection = ctx.use('inspection');
    const cluster = ctx.use('cluster');
    const sessions = new SessionTable(inspection, (session) => operators.isOperator(session), (session) => operators.isAgent(session));
    const traffic = new Traffic(options.maxTrackedNames);
    /** Logged-in operator sessions, decided once at login, so the per-message check is one lookup. */
    const operatorSessions = new WeakSet<Session>();
    const logAction = actionLog(ctx.log, operators);

    // Before the other strategies: the agent's login, and `{ operatorToken }` when a token is set.
    // Without a token it judges no credentials, so strategies that count the others leave it out.
    const authenticationTap = { name: ctx.name, stage: -200, strategy: options.operatorToken !== undefined };
    ctx.hooks.authenticate.tap(authenticationTap, (request) => operators.authenticate(request));
    // First of all permission rules: the prefix is the console's, whatever other rules say.
    ctx.hooks.authorize.tap({ name: ctx.name, stage: -1000 }, ({ session, name }) => operators.authorize(session, name));
    ctx.hooks.connection.tap(ctx.name, (session) => sessions.opened(session));
    ctx.hooks.authenticated.tap(ctx.name, (session) => {
      sessions.loggedIn(session);
      if (operators.isOperator(session) && !operators.isAgent(session)) {
        operatorSessions.add(session);
        ctx.log.info({ operator: operators.identity(session), session: session.id, remoteAddress: session.info.remoteAddress }, 'operator logged in');
      }
    });
    ctx.hooks.disconnect.tap(ctx.name, (session) => sessions.closed(session));
    ctx.hooks.inbound.tap(ctx.name, (session, message) => {
      if (operators.isAgent(session)) return undefined; // the console's own figures are not traffic worth showing
      traffic.inbound(message);
      if (operatorSessions.has(session)) logAction(session, message);
      return undefined;
    });
    ctx.hooks.outbound.tap(ctx.name, (_session, message) => traffic.outbound(message));

    provideRpcs(agent, { serverName, interval: options.interval, maxSessionsListed: options.maxSessionsListed, sessions, log: ctx.log });

    const startedAt = Date.now();
    const figures = (delay: number) => takeFigures({ server: serverName, interval: options.interval, startedAt, cluster, inspection, sessions, traffic }, delay);
    let timer: NodeJS.Timeout | undefined;
    let last: NodeFigures | undefined;
    ctx.hooks.ready.tap(ctx.name, () => {
      let due = performance.now() + options.interval;
      timer = setInterval(() => {
        const now = performance.now();
        last = figures(now - due);
        agent.emit(STATS_EVENT, last);
        due = now + options.interval;
      }, options.interval);
      timer.unref();
    });
    ctx.onClose(() => clearInterval(timer));

    ctx.addTransport((host) => ({
      name: 'console',
      start: () => agent.start(host.open),
      stop: async () => agent.close(),
    }));
    ctx.http.add(
      options.path,
      consoleRoutes(options.path, ctx.config.connection.path, options.operatorToken, () => ({ figures: last ?? null, sessions: sessions.search('', options.maxSessionsListed) })),
    );
  },
});

export default operatorConsole;
export type { ConsoleOptions };
export type { NodeFigures } from './figures.ts';
export type { SessionRow } from './sessions.ts';
export { PREFIX, STATS_EVENT, HELLO_RPC, sessionsRpc, disconnectRpc } from './names.ts';
