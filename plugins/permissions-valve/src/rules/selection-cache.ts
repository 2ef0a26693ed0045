import type { Selection } from './ruleset.ts';

/**
 * Remembers which rule decides which name (SECURITY §3.3). Two generations: a sweep every
 * `interval` drops what was not used since the previous sweep. Names come from clients, so the
 * cache is also bounded in size: when full, it sweeps early.
 */
export class SelectionCache {
  private current = new Map<string, Selection | null>();
  private previous = new Map<string, Selection | null>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    interval: number,
    private readonly maxEntries: number,
  ) {
    this.timer = setInterval(() => this.sweep(), interval);
    this.timer.unref();
  }

  /** The cached selection (null = no rule), or undefined when not cached. */
  get(key: string): Selection | null | undefined {
    const hit = this.current.get(key);
    if (hit !== undefined) return hit;
    const old = this.previous.get(key);
    if (old !== undefined) this.set(key, old); // used again: survives the next sweep
    return old;
  }

  set(key: string, selection: Selection | null): void {
    if (this.current.size >= this.maxEntries) this.sweep();
    this.current.set(key, selection);
  }

  /** New rules: nothing selected before is valid. */
  clear(): void {
    this.current = new Map();
    this.previous = new Map();
  }

  close(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private sweep(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}
