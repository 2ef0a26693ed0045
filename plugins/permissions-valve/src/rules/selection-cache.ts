import type { Selection } from './ruleset.ts';

/** Keys longer than this are not cached: a long name costs one rule selection per request instead. */
export const MAX_CACHED_KEY_LENGTH = 2048;
/** Characters of keys one generation may hold: with two generations, at most ~32 MB of keys. */
export const MAX_GENERATION_KEY_CHARS = 8 * 1024 * 1024;

/**
 * Remembers which rule decides which name (SECURITY §3.3). Two generations: a sweep every
 * `interval` drops what was not used since the previous sweep. Names come from clients, so the
 * cache is bounded by count and by the total length of its keys (a few hundred emits with 900 KB
 * names must not hold hundreds of MB): when either is reached, it sweeps early; keys longer than
 * `maxKeyLength` are never cached.
 */
export class SelectionCache {
  private current = new Map<string, Selection | null>();
  private previous = new Map<string, Selection | null>();
  /** Sum of the lengths of the keys in `current`. */
  private currentChars = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    interval: number,
    private readonly maxEntries: number,
    private readonly maxKeyChars = MAX_GENERATION_KEY_CHARS,
    private readonly maxKeyLength = MAX_CACHED_KEY_LENGTH,
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
    if (key.length > this.maxKeyLength) return;
    if (this.current.size >= this.maxEntries || this.currentChars + key.length > this.maxKeyChars) this.sweep();
    if (!this.current.has(key)) this.currentChars += key.length;
    this.current.set(key, selection);
  }

  /** Entries and key characters held, both generations (for tests). */
  get size(): { entries: number; keyChars: number } {
    let keyChars = this.currentChars;
    for (const key of this.previous.keys()) keyChars += key.length;
    return { entries: this.current.size + this.previous.size, keyChars };
  }

  /** New rules: nothing selected before is valid. */
  clear(): void {
    this.current = new Map();
    this.previous = new Map();
    this.currentChars = 0;
  }

  close(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private sweep(): void {
    this.previous = this.current;
    this.current = new Map();
    this.currentChars = 0;
  }
}
