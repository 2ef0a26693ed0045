import { RPC_ACTION } from '@deepstream-ts/core';
import { NodePeer } from './node-peer.ts';
import type { Rpc } from './rpc.ts';

export type TimeoutAction = RPC_ACTION.ACCEPT_TIMEOUT | RPC_ACTION.RESPONSE_TIMEOUT;

/**
 * The ack and response deadlines of routed calls (EVENTS_RPC_PRESENCE §2.2.4): both start when the
 * call is sent to a provider, and ACCEPT does not restart the response deadline. One Node timer
 * per call at a time: the ack deadline first, then, only if the call was accepted, the rest of
 * the response deadline. A call answered quickly costs one setTimeout and one clearTimeout.
 */
export class CallTimers {
  constructor(
    private readonly ackTimeout: number,
    private readonly responseTimeout: number,
    private readonly onExpired: (rpc: Rpc, action: TimeoutAction) => void,
  ) {}

  start(rpc: Rpc): void {
    this.stop(rpc);
    if (rpc.provider instanceof NodePeer) return this.startGuard(rpc);
    rpc.responseDeadline = performance.now() + this.responseTimeout;
    // With equal timeouts the ack deadline is checked first, as the reference's timers fire in order.
    rpc.awaitingAccept = this.ackTimeout <= this.responseTimeout;
    rpc.timer = setTimeout(this.fire, rpc.awaitingAccept ? this.ackTimeout : this.responseTimeout, rpc);
  }

  /**
   * A call forwarded to another node runs on that node's timers, which report their expiry back;
   * this one only ends the call if that report never comes (a lost message).
   */
  private startGuard(rpc: Rpc): void {
    rpc.awaitingAccept = false;
    rpc.responseDeadline = performance.now() + this.responseTimeout + this.ackTimeout;
    rpc.timer = setTimeout(this.fire, this.responseTimeout + this.ackTimeout, rpc);
  }

  stop(rpc: Rpc): void {
    if (rpc.timer === undefined) return;
    clearTimeout(rpc.timer);
    rpc.timer = undefined;
  }

  private readonly fire = (rpc: Rpc): void => {
    rpc.timer = undefined;
    if (rpc.awaitingAccept) {
      rpc.awaitingAccept = false;
      if (!rpc.accepted) return this.onExpired(rpc, RPC_ACTION.ACCEPT_TIMEOUT);
      const left = rpc.responseDeadline - performance.now();
      if (left >= 1) {
        rpc.timer = setTimeout(this.fire, left, rpc);
        return;
      }
    }
    this.onExpired(rpc, RPC_ACTION.RESPONSE_TIMEOUT);
  };
}
