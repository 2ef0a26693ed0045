import { definePlugin } from '@deepstream-ts/core';
import { RPC_DEFAULTS, RPC_OPTIONS, type RpcOptions } from './options.ts';
import { RpcService, type RpcStats, type RpcView } from './rpc-service.ts';

declare module '@deepstream-ts/core' {
  interface Services {
    /** The RPC plugin, read-only: counts for monitoring and tests. */
    rpc: RpcView;
  }
}

/** Request-response RPC (EVENTS_RPC_PRESENCE §2): provide, make, accept, respond, reject, timeouts. */
export const rpc = definePlugin<RpcOptions>({
  package: import.meta.url,
  provides: ['rpc'],
  options: RPC_OPTIONS,
  setup(ctx) {
    const service = new RpcService(ctx);
    ctx.claim(service.topic, (session, message, admission) => service.handle(session, message, admission), service.access());
    ctx.hooks.disconnect.tap(ctx.name, (session) => service.forget(session));
    ctx.provide('rpc', service);
    ctx.onClose(
      ctx.use('inspection').addGauges(
        { name: 'rpc_provided_names', help: 'RPC names with a provider on this node', read: () => service.stats.providedNames },
        { name: 'rpc_provider_sessions', help: 'Sessions on this node providing at least one RPC', read: () => service.stats.providerSessions },
        { name: 'rpc_pending_calls', help: 'RPCs in flight through this node', read: () => service.stats.pendingCalls },
      ),
    );
    ctx.onClose(ctx.use('inspection').addSessionNames('rpc provides', (session) => service.providedBy(session)));
    ctx.onClose(() => service.close());
  },
});

export default rpc;
export { RpcService, RPC_DEFAULTS, type RpcOptions, type RpcStats, type RpcView };
export { TOO_MANY_PENDING_RPCS } from './replies.ts';
