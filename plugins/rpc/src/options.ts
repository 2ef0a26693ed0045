export interface RpcOptions {
  /** ms a provider has to ACCEPT a request before the requester gets ACCEPT_TIMEOUT. */
  ackTimeout: number;
  /** ms from dispatch to RESPONSE/REQUEST_ERROR before RESPONSE_TIMEOUT; not restarted by ACCEPT. */
  responseTimeout: number;
  /** Forward the requester's user id to the provider as `requestorName`. */
  provideRequestorName: boolean;
  /** Forward the requester's clientData (JSON) to the provider as `requestorData`. */
  provideRequestorData: boolean;
  /**
   * Calls one session may have open at once (waiting for permission, a provider or a reply).
   * Beyond it a REQUEST is answered at once with REQUEST_ERROR "TOO_MANY_PENDING_RPCS".
   */
  maxPendingPerSession: number;
  /**
   * Reject REQUEST / RESPONSE / REQUEST_ERROR payloads that are not JSON with INVALID_MESSAGE_DATA:
   * the official client throws while decoding such a payload, so relaying it breaks the receiver.
   */
  validatePayloads: boolean;
  /** Longest RPC name accepted (REQUEST, PROVIDE), in UTF-16 code units. */
  maxNameLength: number;
}

export const RPC_DEFAULTS: RpcOptions = {
  ackTimeout: 1000,
  responseTimeout: 10_000,
  provideRequestorName: false,
  provideRequestorData: false,
  maxPendingPerSession: 1000,
  validatePayloads: true,
  maxNameLength: 1024,
};

/** Fails setup with a message naming the option, instead of timers that fire at NaN. */
export function checkOptions(options: RpcOptions): void {
  for (const key of ['ackTimeout', 'responseTimeout', 'maxPendingPerSession', 'maxNameLength'] as const) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`rpc option "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  for (const key of ['provideRequestorName', 'provideRequestorData', 'validatePayloads'] as const) {
    if (typeof options[key] !== 'boolean') throw new TypeError(`rpc option "${key}" must be a boolean, got ${JSON.stringify(options[key])}`);
  }
}

/** Why an RPC name is refused (names the limit), or undefined when it is usable. */
export function nameTooLong(name: string, options: RpcOptions): string | undefined {
  return name.length > options.maxNameLength ? `maxNameLength (${options.maxNameLength}) exceeded: an RPC name of ${name.length} characters` : undefined;
}
