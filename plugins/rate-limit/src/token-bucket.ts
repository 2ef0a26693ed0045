/**
 * A token bucket: holds up to `burst` tokens, refills at `ratePerSecond`, and each message takes
 * one. Refilled lazily on use, so an idle connection costs no timer.
 */
export class TokenBucket {
  private tokens: number;
  /** Messages taken since the last cluster sync (see ClusterSync). */
  taken = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private last: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token at time `now` (milliseconds, monotonic); false when none is left. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    this.taken += 1;
    return true;
  }

  /**
   * Takes `count` tokens other nodes used for the same key. May go below zero (the key is then
   * blocked until it refills), never below `-burst`: one late report must not block for long.
   */
  debit(count: number, now: number): void {
    this.refill(now);
    this.tokens = Math.max(-this.burst, this.tokens - count);
  }

  /** Refilled completely: dropping it changes nothing, a new one would be the same. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
  }
}
