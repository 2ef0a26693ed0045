import { RPC_ACTION, TOPIC, type Admission, type AuthorizationFacts, type Message, type PluginContext, type Session, type TopicAccess } from '@deepstream-ts/core';
import { Calls } from './calls.ts';
import { nameTooLong, type RpcOptions } from './options.ts';
import { ClusterProviders } from './cluster-providers.ts';
import { ProviderRegistry } from './providers.ts';
import type { Rpc } from './rpc.ts';
import { Provisions } from './provisions.ts';

/** What the RPC plugin holds, for tests and monitoring: every count is 0 once all clients are gone. */
export interface RpcStats {
  /** RPC names with at least one provider. */
  readonly providedNames: number;
  /** Sessions providing at least one name. */
  readonly providerSessions: number;
  /** Calls in flight, including those whose requester left while a provider had them. */
  readonly pendingCalls: number;
  /** Sessions with a call index as requester / as provider (kept while connected, dropped on disconnect). */
  readonly trackedRequestors: number;
  readonly trackedProviders: number;
}

/** What other plugins (and tests) see of the RPC plugin, through `ctx.use('rpc')`. */
export interface RpcView {
  readonly stats: RpcStats;
}

/** A call being judged: registered as pending, its arguments the rule's `data`. */
export interface CallFacts extends AuthorizationFacts {
  readonly rpc: Rpc;
}

/** Owns the RPC topic: dispatches each action to provisions (PROVIDE/UNPROVIDE) or calls. */
export class RpcService implements RpcView {
  readonly topic = TOPIC.RPC;
  private readonly providers: ProviderRegistry;
  private readonly provisions: Provisions;
  private readonly calls: Calls;
  private readonly detachCluster: () => void;

  constructor(private readonly ctx: PluginContext<RpcOptions>) {
    // Costs nothing on a single node: with no peers nothing is sent and no node is ever picked.
    const cluster = new ClusterProviders(ctx.use('cluster'));
    this.providers = new ProviderRegistry((name, provided) => cluster.localProviderChange(name, provided));
    this.provisions = new Provisions(ctx, this.providers);
    this.calls = new Calls(ctx, this.providers, cluster);
    this.detachCluster = cluster.attach({
      forwarded: (from, message) => this.calls.forwarded(from, message),
      relayed: (from, message) => this.calls.relayed(from, message),
      nodeLeft: (node) => this.calls.forget(node),
    });
  }

  /**
   * What the router asks the permission plugins before `handle` runs (SECURITY §3): `request` for a
   * call (its arguments are the rule's `data`), `provide` per name. Messages `handle` refuses
   * anyway are not asked. Provider replies need no permission: they answer calls already allowed.
   */
  access(): TopicAccess<CallFacts> {
    const options = this.ctx.options;
    return {
      resource: 'rpc',
      bulk: [RPC_ACTION.PROVIDE],
      permissions: {
        [RPC_ACTION.REQUEST]: (_message, _name, facts) => (facts === undefined ? undefined : 'request'),
        [RPC_ACTION.PROVIDE]: (_message, name) => (name === '' || nameTooLong(name, options) !== undefined ? undefined : 'provide'),
      },
      facts: (session, message) => {
        if (message.action !== RPC_ACTION.REQUEST) return undefined;
        const rpc = this.calls.prepare(session, message);
        return rpc === undefined ? undefined : callFacts(rpc);
      },
      release: (facts) => this.calls.release(facts.rpc),
    };
  }

  handle(session: Session, message: Message, admission?: Admission<CallFacts>): void | Promise<void> {
    switch (message.action) {
      case RPC_ACTION.REQUEST:
        return this.calls.request(session, message, admission?.facts?.rpc);
      case RPC_ACTION.ACCEPT:
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
      case RPC_ACTION.REJECT:
        return this.calls.reply(session, message);
      case RPC_ACTION.PROVIDE:
        return this.provisions.provide(session, message, admission?.denied ?? 0);
      case RPC_ACTION.UNPROVIDE:
        return this.provisions.unprovide(session, message);
      default:
        // Server-to-client actions or unknown numbers: ignored and logged (PROTOCOL §5.6).
        session.warn('unsupported RPC action ignored', { action: message.action, name: message.name });
    }
  }

  /** Kernel `disconnect`: the session stops providing, and its calls end (EVENTS_RPC_PRESENCE §2.5). */
  forget(session: Session): void {
    this.providers.removeSession(session);
    this.calls.forget(session);
  }

  /** The RPC names a session provides, for the operator console. */
  providedBy(session: Session): ReadonlySet<string> | undefined {
    return this.providers.namesOf(session);
  }

  get stats(): RpcStats {
    const providers = this.providers.size;
    const pending = this.calls.pending.size;
    return {
      providedNames: providers.names,
      providerSessions: providers.sessions,
      pendingCalls: pending.calls,
      trackedRequestors: pending.requestors,
      trackedProviders: pending.providers,
    };
  }

  close(): void {
    this.detachCluster();
    this.calls.close();
  }
}

/** The call's arguments, parsed when a rule first reads them (invalid JSON fails the check). */
function callFacts(rpc: Rpc): CallFacts {
  let parsed: { value: unknown } | undefined;
  return {
    rpc,
    data() {
      if (rpc.data === undefined) return undefined;
      parsed ??= { value: JSON.parse(rpc.data) as unknown };
      return parsed.value;
    },
  };
}
