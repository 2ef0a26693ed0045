import { Type, optionDefaults, type Static } from '@deepstream-ts/core';

export const RPC_OPTIONS = Type.Object({
  /** ms a provider has to ACCEPT a request before the requester gets ACCEPT_TIMEOUT. */
  ackTimeout: Type.Integer({ minimum: 1, default: 1000 }),
  /** ms from dispatch to RESPONSE/REQUEST_ERROR before RESPONSE_TIMEOUT; not restarted by ACCEPT. */
  responseTimeout: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Forward the requester's user id to the provider as `requestorName`. */
  provideRequestorName: Type.Boolean({ default: false }),
  /** Forward the requester's clientData (JSON) to the provider as `requestorData`. */
  provideRequestorData: Type.Boolean({ default: false }),
  /**
   * Calls one session may have open at once (waiting for permission, a provider or a reply).
   * Beyond it a REQUEST is answered at once with REQUEST_ERROR "TOO_MANY_PENDING_RPCS".
   */
  maxPendingPerSession: Type.Integer({ minimum: 1, default: 1000 }),
  /**
   * Reject REQUEST / RESPONSE / REQUEST_ERROR payloads that are not JSON with INVALID_MESSAGE_DATA:
   * the official client throws while decoding such a payload, so relaying it breaks the receiver.
   */
  validatePayloads: Type.Boolean({ default: true }),
  /** Longest RPC name accepted (REQUEST, PROVIDE), in UTF-16 code units. */
  maxNameLength: Type.Integer({ minimum: 1, default: 1024 }),
});

export type RpcOptions = Static<typeof RPC_OPTIONS>;

/** Every option at its default. */
export const RPC_DEFAULTS = Object.freeze(optionDefaults(RPC_OPTIONS) as RpcOptions);

/** Why an RPC name is refused (names the limit), or undefined when it is usable. */
export function nameTooLong(name: string, options: RpcOptions): string | undefined {
  return name.length > options.maxNameLength ? `maxNameLength (${options.maxNameLength}) exceeded: an RPC name of ${name.length} characters` : undefined;
}
