/**
 * A token bucket: holds up to `burst` tokens, refills at `ratePerSecond`, and each message takes
 * one. Refilled lazily on use, so an idle connection costs no timer.
 */
export class TokenBucket {
  private tokens: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private last: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token at time `now` (milliseconds, monotonic); false when none is left. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
