import type { LoginBackoffOptions } from '../config/options.ts';

/** What the table remembers of one key. */
interface KeyState {
  /** Failures since `windowStart`, while the key is not throttled yet. */
  failures: number;
  windowStart: number;
  lastFailure: number;
  /** Blocks so far: the next one lasts `baseDelay × 2^blocks`, up to `maxDelay`. */
  blocks: number;
  /** Attempts before this time are refused without asking any strategy. */
  blockedUntil: number;
}

export type BackoffTiming = Pick<LoginBackoffOptions, 'window' | 'baseDelay' | 'maxDelay' | 'maxTrackedKeys'>;

/**
 * Failed logins per key (usernames in one table, addresses in another) and the blocks they earn:
 * after `failures` failures within `window`, every further failure blocks the key for
 * `baseDelay`, doubling each time up to `maxDelay`. A key quiet for a whole `window` after its
 * last failure, and not blocked, starts afresh. Only failures create entries, so a successful
 * login costs one map lookup; at most `maxTrackedKeys` keys are remembered, the least recently
 * failed forgotten first (a Map keeps insertion order, and each failure re-inserts its key).
 */
export class LoginBackoff {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    /** Failures within a window before the first block. */
    readonly failures: number,
    private readonly timing: BackoffTiming,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedFor(key: string, now: number): number {
    const state = this.keys.get(key);
    return state === undefined || state.blockedUntil <= now ? 0 : state.blockedUntil - now;
  }

  /**
   * Counts one failure. Returns the block it started in milliseconds (0 for none) and whether it is
   * the key's first block, i.e. the moment to tell the operator.
   */
  recordFailure(key: string, now: number): { blockedFor: number; firstBlock: boolean } {
    const { window, baseDelay, maxDelay, maxTrackedKeys } = this.timing;
    let state = this.keys.get(key);
    if (state !== undefined) {
      this.keys.delete(key);
      if (state.blockedUntil <= now && now - state.lastFailure >= window) state = undefined; // quiet for a window: forgiven
      else if (state.blocks === 0 && now - state.windowStart >= window) {
        state.failures = 0;
        state.windowStart = now;
      }
    }
    state ??= { failures: 0, windowStart: now, lastFailure: now, blocks: 0, blockedUntil: 0 };
    this.keys.set(key, state);
    if (this.keys.size > maxTrackedKeys) this.keys.delete(this.keys.keys().next().value as string);
    state.lastFailure = now;
    if (++state.failures < this.failures) return { blockedFor: 0, firstBlock: false };
    const delay = Math.min(baseDelay * 2 ** state.blocks, maxDelay);
    state.blocks++;
    state.blockedUntil = now + delay;
    return { blockedFor: delay, firstBlock: state.blocks === 1 };
  }

  /** A success: the key's failures are forgotten. */
  clear(key: string): void {
    this.keys.delete(key);
  }
}
