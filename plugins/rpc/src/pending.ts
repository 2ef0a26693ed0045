import { NodePeer } from './node-peer.ts';
import type { Peer, Rpc } from './rpc.ts';

/**
 * Calls in flight, indexed twice: by (requester, its correlation id), because ids are chosen by
 * clients and two clients may pick the same one (PROTOCOL §5.3); and by (provider, the id the
 * provider was given), to match its replies. Per-session maps live until the session disconnects,
 * so a busy session does not allocate a map per call.
 */
export class PendingRpcs {
  private readonly byRequestor = new Map<Peer, Map<string, Rpc>>();
  private readonly byProvider = new Map<Peer, Map<string, Rpc>>();
  /** Calls whose requester left while a provider had them (see removeRequestor). */
  private readonly detached = new Set<Rpc>();
  private calls = 0;
  /** Suffix for provider-facing ids that would collide; unique for the server's lifetime. */
  private nextAlias = 0;

  /** @returns false when the requester already has a call with that correlation id. */
  add(rpc: Rpc): boolean {
    let calls = this.byRequestor.get(rpc.requestor);
    if (calls === undefined) this.byRequestor.set(rpc.requestor, (calls = new Map()));
    else if (calls.has(rpc.correlationId)) return false;
    calls.set(rpc.correlationId, rpc);
    this.calls++;
    return true;
  }

  /** Calls the session has open as requester. */
  countOf(requestor: Peer): number {
    return this.byRequestor.get(requestor)?.size ?? 0;
  }

  /**
   * Hands the call to `provider`. It is known there by the requester's id, unless the provider
   * already has a call with that id from someone else: then it gets an alias, so that replies
   * can never reach the wrong requester. With `freshId` the call always gets an id never used
   * before: another node may still hold a call this one has given up on, under its old id.
   */
  assign(rpc: Rpc, provider: Peer, freshId = false): void {
    this.unassign(rpc);
    let calls = this.byProvider.get(provider);
    if (calls === undefined) this.byProvider.set(provider, (calls = new Map()));
    let id = freshId ? (this.nextAlias++).toString(36) : rpc.requestorId;
    while (calls.has(id)) id = `${rpc.requestorId}#${(this.nextAlias++).toString(36)}`;
    calls.set(id, rpc);
    rpc.provider = provider;
    rpc.providerId = id;
  }

  /** Takes the call away from its provider (before re-routing it). */
  unassign(rpc: Rpc): void {
    if (rpc.provider === undefined) return;
    this.byProvider.get(rpc.provider)?.delete(rpc.providerId as string);
    rpc.provider = undefined;
    rpc.providerId = undefined;
  }

  /** The call `provider` knows as `id`. */
  atProvider(provider: Peer, id: string): Rpc | undefined {
    return this.byProvider.get(provider)?.get(id);
  }

  /** Forgets the call entirely. */
  delete(rpc: Rpc): void {
    this.unassign(rpc);
    const calls = this.byRequestor.get(rpc.requestor);
    // Compare identity: the id may already belong to a newer call of the same requester.
    if (calls?.get(rpc.correlationId) === rpc) calls.delete(rpc.correlationId);
    else if (!this.detached.delete(rpc)) return;
    this.calls--;
  }

  /**
   * Forgets the requester; returns its calls. A call still at a provider stays indexed there
   * ("detached") until the provider replies or its timer fires, so that the reply is dropped
   * quietly instead of being reported as an unknown id.
   */
  removeRequestor(requestor: Peer): Rpc[] {
    const calls = this.byRequestor.get(requestor);
    if (calls === undefined) return [];
    this.byRequestor.delete(requestor);
    const rpcs = [...calls.values()];
    for (const rpc of rpcs) this.detached.add(rpc);
    return rpcs;
  }

  /** Forgets the provider; returns the calls it had. Their `provider` is cleared. */
  removeProvider(provider: Peer): Rpc[] {
    const calls = this.byProvider.get(provider);
    if (calls === undefined) return [];
    this.byProvider.delete(provider);
    const rpcs = [...calls.values()];
    for (const rpc of rpcs) {
      rpc.provider = undefined;
      rpc.providerId = undefined;
    }
    return rpcs;
  }

  /** Every call, for shutdown. */
  *all(): IterableIterator<Rpc> {
    for (const calls of this.byRequestor.values()) yield* calls.values();
    yield* this.detached;
  }

  /**
   * Counts for tests and monitoring: everything is 0 once every client is gone. Requestors and
   * providers are sessions: the index kept for each other node (while it is alive) is not counted.
   */
  get size(): { calls: number; requestors: number; providers: number } {
    return { calls: this.calls, requestors: sessions(this.byRequestor.keys()), providers: sessions(this.byProvider.keys()) };
  }
}

function sessions(peers: Iterable<Peer>): number {
  let count = 0;
  for (const peer of peers) if (!(peer instanceof NodePeer)) count++;
  return count;
}
