import type { Message } from '@deepstream-ts/core';

/**
 * Who a call comes from or is sent to: a local session, or another cluster node standing in for
 * its own requester or provider (see NodePeer).
 */
export interface Peer {
  send(message: Message): void;
}

export const enum RpcState {
  /** Waiting for the permission check. */
  Authorizing,
  /** Sent to `provider`; waiting for its reply. */
  Routed,
  /** The requester left while a provider had the call: its reply is dropped without a word. */
  Orphaned,
  /** Answered, failed or dropped; nothing may touch it any more. */
  Done,
}

/** One call in flight: who asked, which provider has it, and its deadlines. */
export class Rpc {
  state = RpcState.Authorizing;
  /** The provider that has the call now. */
  provider: Peer | undefined;
  /** The id the provider knows the call by: `requestorId` unless that provider already uses it. */
  providerId: string | undefined;
  accepted = false;
  /** Providers already asked, so that a REJECT never goes back to one of them. */
  readonly tried: Peer[] = [];

  // Owned by CallTimers.
  timer: NodeJS.Timeout | undefined;
  awaitingAccept = false;
  responseDeadline = 0;

  constructor(
    readonly requestor: Peer,
    readonly name: string,
    /** The requester's raw correlation id, echoed in every reply to it. */
    readonly correlationId: string,
    /** The arguments as JSON text, relayed verbatim. */
    readonly data: string | undefined,
    /** What the provider is told about the requester (only when the options say so). */
    readonly requestorName: string | undefined,
    readonly requestorData: string | undefined,
    /** Forwarded by another node: only this node's own providers may serve it. */
    readonly localOnly = false,
    /** The id the requester itself chose, which its provider is shown (the nodes between use their own). */
    readonly requestorId = correlationId,
  ) {}
}
