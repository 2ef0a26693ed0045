import { RPC_ACTION, type Message, type PluginContext, type Session } from '@deepstream-ts/core';
import { nameTooLong, type RpcOptions } from './options.ts';
import type { ClusterProviders } from './cluster-providers.ts';
import type { NodePeer } from './node-peer.ts';
import type { ProviderRegistry } from './providers.ts';
import { PendingRpcs } from './pending.ts';
import { Rpc, RpcState, type Peer } from './rpc.ts';
import { CallTimers, type TimeoutAction } from './timers.ts';
import { invalidCorrelationId, invalidMessageData, multipleAccept, refusedRequest, toProvider, toRequester, tooManyPending } from './replies.ts';

/**
 * Requests and provider replies (EVENTS_RPC_PRESENCE §2.2–2.5): routes each call to one provider
 * at a time, relays ACCEPT / RESPONSE / REQUEST_ERROR to the requester, re-routes on REJECT and
 * ends calls on their deadlines. Payloads are relayed verbatim.
 *
 * In a cluster (EVENTS_RPC_PRESENCE §5) a call with no local provider left goes to another node
 * that has one; that node serves it as its own call from a NodePeer requester, on its own
 * providers and timers, and what it sends that requester comes back here. NO_RPC_PROVIDER from it
 * means "all mine declined": the call moves on to the next node.
 */
export class Calls {
  readonly pending = new PendingRpcs();
  private readonly timers: CallTimers;
  /** Sessions already warned about the pending limit: one log line per session, not per request. */
  private readonly warnedOverLimit = new WeakSet<Session>();

  constructor(
    private readonly ctx: PluginContext<RpcOptions>,
    private readonly providers: ProviderRegistry,
    private readonly cluster: ClusterProviders,
  ) {
    const { ackTimeout, responseTimeout } = ctx.options;
    this.timers = new CallTimers(ackTimeout, responseTimeout, (rpc, action) => this.onTimeout(rpc, action));
  }

  /**
   * A REQUEST: `rpc` is the call the router judged (and `prepare` registered); without one, nothing
   * judged it, so it is checked and registered here.
   */
  request(session: Session, message: Message, rpc?: Rpc): void {
    rpc ??= this.register(session, message, true);
    if (rpc === undefined || rpc.state !== RpcState.Authorizing) return; // refused, or the requester left during the check
    this.route(rpc);
  }

  /**
   * For the router, before the permission check: the call registered as pending, so that
   * `maxPendingPerSession` also bounds calls awaiting their check; undefined (and nothing sent)
   * when `request` will refuse the message.
   */
  prepare(session: Session, message: Message): Rpc | undefined {
    return this.register(session, message, false);
  }

  /** The call was denied (and answered) or will not be handled: it is no longer pending. */
  release(rpc: Rpc): void {
    if (rpc.state === RpcState.Authorizing) this.end(rpc);
  }

  /** Validates a REQUEST and registers its call; `reply`: say why when refusing. */
  private register(session: Session, message: Message, reply: boolean): Rpc | undefined {
    const { name, correlationId, data } = message;
    if (name === undefined || name === '' || correlationId === undefined || correlationId === '') {
      if (reply) this.refuseMalformed(session, message, 'REQUEST without an RPC name or correlationId');
      return undefined;
    }
    const tooLong = nameTooLong(name, this.ctx.options);
    if (tooLong !== undefined) {
      if (reply) {
        session.warn(`RPC request refused: ${tooLong}`, { name: name.slice(0, 100) });
        session.send(refusedRequest(message, tooLong));
      }
      return undefined;
    }
    if (data !== undefined && this.ctx.options.validatePayloads && !isJson(data)) {
      if (reply) this.refuseMalformed(session, message, 'REQUEST arguments are not valid JSON');
      return undefined;
    }
    if (this.pending.countOf(session) >= this.ctx.options.maxPendingPerSession) {
      if (reply) this.overLimit(session, message);
      return undefined;
    }
    const rpc = new Rpc(session, name, correlationId, data, this.requestorName(session), this.requestorData(session));
    if (!this.pending.add(rpc)) {
      if (reply) {
        session.warn('REQUEST reuses the correlationId of a pending call', { name, correlationId });
        session.send(invalidCorrelationId(message));
      }
      return undefined;
    }
    return rpc;
  }

  /** ACCEPT, RESPONSE, REQUEST_ERROR or REJECT from a provider. */
  reply(session: Session, message: Message): void {
    const { name, correlationId, data } = message;
    if (name === undefined || name === '' || correlationId === undefined || correlationId === '') {
      return this.refuseMalformed(session, message, 'RPC reply without a name or correlationId');
    }
    const rpc = this.pending.atProvider(session, correlationId);
    if (rpc === undefined || rpc.name !== name) {
      // Late (after a timeout or a re-route), unknown, or from a client that was not asked.
      session.warn('RPC reply matches no call sent to this client', { name, correlationId, action: message.action });
      return session.send(invalidCorrelationId(message));
    }
    if (data !== undefined && this.ctx.options.validatePayloads && !isJson(data)) {
      // The call stays open: the provider may still answer properly before the deadline.
      return this.refuseMalformed(session, message, 'RPC reply payload is not valid JSON');
    }
    if (rpc.state === RpcState.Orphaned) {
      if (message.action !== RPC_ACTION.ACCEPT) this.end(rpc); // the requester is gone: drop quietly
      return;
    }
    switch (message.action) {
      case RPC_ACTION.ACCEPT:
        if (rpc.accepted) return session.send(multipleAccept(message));
        rpc.accepted = true;
        return rpc.requestor.send(toRequester(rpc, RPC_ACTION.ACCEPT));
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
        return this.finish(rpc, message.action, data);
      case RPC_ACTION.REJECT:
        return this.route(rpc);
    }
  }

  /** A call another node could not serve locally: only this node's providers are tried. */
  forwarded(from: NodePeer, message: Message): void {
    const { name, correlationId, data } = message;
    if (name === undefined || correlationId === undefined) return this.ctx.log.warn({ node: from.node }, 'forwarded RPC request without a name or id dropped');
    const rpc = new Rpc(from, name, correlationId, data, message.requestorName, message.requestorData, true, message.names?.[0] || correlationId);
    if (!this.pending.add(rpc)) return this.ctx.log.warn({ node: from.node, name }, 'forwarded RPC request reuses a pending id: dropped');
    this.route(rpc);
  }

  /** What the node serving one of our calls sends its requester: passed on, or the call moves on. */
  relayed(from: NodePeer, message: Message): void {
    const rpc = message.correlationId === undefined ? undefined : this.pending.atProvider(from, message.correlationId);
    if (rpc === undefined || rpc.name !== message.name) return; // the call already ended here
    if (rpc.state === RpcState.Orphaned) {
      if (message.action !== RPC_ACTION.ACCEPT) this.end(rpc);
      return;
    }
    switch (message.action) {
      case RPC_ACTION.ACCEPT:
        if (rpc.accepted) return;
        rpc.accepted = true;
        return rpc.requestor.send(toRequester(rpc, RPC_ACTION.ACCEPT));
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
      case RPC_ACTION.ACCEPT_TIMEOUT:
      case RPC_ACTION.RESPONSE_TIMEOUT:
        return this.finish(rpc, message.action, message.data);
      case RPC_ACTION.NO_RPC_PROVIDER:
        return this.route(rpc);
    }
  }

  /** Cleanup for a session (or a node) that is gone, as requester and as provider. */
  forget(session: Peer): void {
    // Requester side first: a client that called itself must not have its own call re-routed.
    for (const rpc of this.pending.removeRequestor(session)) {
      if (rpc.state === RpcState.Routed) rpc.state = RpcState.Orphaned;
      else this.end(rpc);
    }
    for (const rpc of this.pending.removeProvider(session)) {
      if (rpc.state === RpcState.Orphaned) this.end(rpc);
      // An accepted call may already have run: fail it now rather than run it twice. Others move on.
      else if (rpc.accepted) this.finish(rpc, RPC_ACTION.RESPONSE_TIMEOUT);
      else this.route(rpc);
    }
  }

  /** Shutdown: no timer may outlive the server. */
  close(): void {
    for (const rpc of [...this.pending.all()]) this.end(rpc);
  }

  /**
   * Sends the call to the next provider not tried yet, with fresh deadlines: local providers
   * first, then other nodes; NO_RPC_PROVIDER when none is left.
   */
  private route(rpc: Rpc): void {
    const local = this.providers.pick(rpc.name, rpc.tried);
    const provider = local ?? (rpc.localOnly ? undefined : this.cluster.pick(rpc.name, rpc.tried));
    if (provider === undefined) return this.finish(rpc, RPC_ACTION.NO_RPC_PROVIDER);
    rpc.tried.push(provider);
    rpc.state = RpcState.Routed;
    rpc.accepted = false;
    this.pending.assign(rpc, provider, provider !== local);
    this.timers.start(rpc);
    provider.send(toProvider(rpc, provider !== local));
  }

  private onTimeout(rpc: Rpc, action: TimeoutAction): void {
    if (rpc.state === RpcState.Orphaned) return this.end(rpc);
    this.finish(rpc, action);
  }

  /** Ends the call with a last message to its requester. */
  private finish(rpc: Rpc, action: RPC_ACTION, data?: string): void {
    this.end(rpc);
    rpc.requestor.send(toRequester(rpc, action, data));
  }

  /** Ends the call silently: later replies about it get INVALID_RPC_CORRELATION_ID. */
  private end(rpc: Rpc): void {
    if (rpc.state === RpcState.Done) return;
    rpc.state = RpcState.Done;
    this.timers.stop(rpc);
    this.pending.delete(rpc);
  }

  private requestorName(session: Session): string | undefined {
    return this.ctx.options.provideRequestorName ? session.userId : undefined;
  }

  /** Encoded once from the original value (the reference double-encodes on re-route). */
  private requestorData(session: Session): string | undefined {
    const { clientData } = session;
    return this.ctx.options.provideRequestorData && clientData != null ? JSON.stringify(clientData) : undefined;
  }

  private overLimit(session: Session, message: Message): void {
    if (!this.warnedOverLimit.has(session)) {
      this.warnedOverLimit.add(session);
      session.warn('RPC requests refused: too many pending calls', { limit: this.ctx.options.maxPendingPerSession });
    }
    session.send(tooManyPending(message));
  }

  private refuseMalformed(session: Session, message: Message, why: string): void {
    session.warn(why, { name: message.name, correlationId: message.correlationId, action: message.action });
    session.send(invalidMessageData(message));
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
