/**
 * MQTT topic names and filters (section 4.7 of MQTT 3.1.1 and of MQTT 5): checks, and a tree that finds the
 * wildcard filters matching a name in one walk down its levels.
 */

/** Why a topic name cannot be published to, or undefined when it can. */
export function invalidTopicName(topic: string): string | undefined {
  if (topic.length === 0) return 'empty topic name';
  if (topic.length > 21845 && Buffer.byteLength(topic, 'utf8') > 65535) return 'topic name longer than 65535 bytes';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH) return 'wildcard in a topic name';
    if (c === 0) return 'NUL character in a topic name';
  }
  return undefined;
}

/** Why a filter cannot be subscribed to, or undefined when it can. */
export function invalidTopicFilter(filter: string): string | undefined {
  if (filter.length === 0) return 'empty topic filter';
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0) return 'NUL character in a topic filter';
    // A wildcard fills its whole level; `#` is also the last level.
    if (c === PLUS || c === HASH) {
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return `"${String.fromCharCode(c)}" does not fill its level`;
      if (i + 1 < n && (c === HASH || filter.charCodeAt(i + 1) !== SLASH)) return c === HASH ? '"#" is not the last level' : '"+" does not fill its level';
    }
  }
  return undefined;
}

export function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

const PLUS = 43;
const HASH = 35;
const SLASH = 47;
const DOLLAR = 36;

interface Node<T> {
  children: Map<string, Node<T>> | undefined;
  /** Holders of a filter ending at this level. */
  here: Set<T> | undefined;
  /** Holders of `…/#` at this level: every deeper name, and this level itself. */
  rest: Set<T> | undefined;
}

const node = <T>(): Node<T> => ({ children: undefined, here: undefined, rest: undefined });

/**
 * Wildcard filters and who holds them. `match` costs one map lookup per level and wildcard branch,
 * whatever the number of filters. Names starting with `$` are not matched by a leading wildcard
 * (MQTT section 4.7.2).
 */
export class TopicTree<T> {
  private readonly root = node<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(filter: string, holder: T): void {
    let at = this.root;
    const levels = filter.split('/');
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        if (!(at.rest ??= new Set()).has(holder)) this.count++;
        at.rest.add(holder);
        return;
      }
      let next = (at.children ??= new Map()).get(level);
      if (next === undefined) at.children.set(level, (next = node<T>()));
      at = next;
    }
    if (!(at.here ??= new Set()).has(holder)) this.count++;
    at.here.add(holder);
  }

  remove(filter: string, holder: T): void {
    const path: Array<[Node<T>, string]> = [];
    let at = this.root;
    const levels = filter.split('/');
    for (const level of levels) {
      if (level === '#') {
        if (at.rest?.delete(holder)) this.count--;
        if (at.rest?.size === 0) at.rest = undefined;
        return this.prune(path, at);
      }
      const next = at.children?.get(level);
      if (next === undefined) return;
      path.push([at, level]);
      at = next;
    }
    if (at.here?.delete(holder)) this.count--;
    if (at.here?.size === 0) at.here = undefined;
    this.prune(path, at);
  }

  /** Calls `visit` once per (holder, matching filter) for `name`. */
  match(name: string, visit: (holder: T) => void): void {
    if (this.count === 0) return;
    this.walk(this.root, name, 0, name.charCodeAt(0) === DOLLAR, visit);
  }

  private walk(at: Node<T>, name: string, from: number, system: boolean, visit: (holder: T) => void): void {
    // `a/#` matches `a` itself as well as everything below it.
    if (at.rest !== undefined && !system) for (const h of at.rest) visit(h);
    const end = name.indexOf('/', from);
    const level = end === -1 ? name.slice(from) : name.slice(from, end);
    const children = at.children;
    if (children === undefined) return;
    const exact = children.get(level);
    if (exact !== undefined) this.step(exact, name, end, visit);
    const any = system ? undefined : children.get('+');
    if (any !== undefined) this.step(any, name, end, visit);
  }

  /** Into the child matching one level; `end` is where that level ended (-1: it was the last). */
  private step(next: Node<T>, name: string, end: number, visit: (holder: T) => void): void {
    if (end !== -1) return this.walk(next, name, end + 1, false, visit);
    if (next.here !== undefined) for (const h of next.here) visit(h);
    if (next.rest !== undefined) for (const h of next.rest) visit(h);
  }

  private prune(path: Array<[Node<T>, string]>, leaf: Node<T>): void {
    let at = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (at.here !== undefined || at.rest !== undefined || (at.children?.size ?? 0) > 0) return;
      const [parent, level] = path[i]!;
      parent.children!.delete(level);
      at = parent;
    }
  }
}
