/** Messages between bench/rpc.ts and its worker processes (child_process IPC). */

/** Parent → provider worker. */
export type ToProvider = { type: 'stop' };

/** Provider worker → parent. */
export type FromProvider =
  | { type: 'ready' }
  /** Sent on 'stop': REQUEST frames answered over the worker's life. */
  | { type: 'answered'; count: number }
  | { type: 'error'; message: string };

/** Parent → requester worker. */
export type ToRequester =
  /** Run `warmupMs` unmeasured, then `durationMs` measured; then let calls in flight finish. */
  | { type: 'go'; warmupMs: number; durationMs: number }
  | { type: 'stop' };

/** Requester worker → parent. */
export type FromRequester =
  | { type: 'ready'; connections: number }
  /** The measured window is over (results follow once calls in flight have finished). */
  | { type: 'measured' }
  | { type: 'done'; result: RequesterResult }
  | { type: 'error'; message: string };

export interface RequesterResult {
  connections: number;
  /** RESPONSE frames received inside the measured window. */
  completed: number;
  windowMs: number;
  /** Round-trip latency of the calls completed in the window, in µs (from a sample on long runs). */
  latencyUs: { min: number; p50: number; p90: number; p99: number; max: number };
  /** RPC frames other than ACCEPT / RESPONSE (timeouts, NO_RPC_PROVIDER, errors...). */
  errors: number;
  firstError: string | undefined;
  /** Calls still unanswered after the drain timeout. */
  unanswered: number;
  /** Every connection's first RESPONSE decoded in full and checked (name, id, payload). */
  verified: boolean;
}
