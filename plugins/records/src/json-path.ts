/**
 * Record paths (RECORDS §10), applied the way the official client applies them so that both
 * sides end with the same data: `a.b[2].c`; parts are trimmed and empty parts skipped; a bracket
 * index is a number, a bare numeric part is an object key.
 */
export type PathToken = string | number;

/** Segments that would reach Object.prototype. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export interface PathLimits {
  /** Longest accepted path, in characters. */
  maxPathLength: number;
  /** Largest accepted array index: a patch must not be able to allocate a billion holes. */
  maxPathIndex: number;
  /** Most parts a path may have (`a.b[2]` has three). */
  maxPathDepth: number;
  /**
   * Most array elements one patch may create: each index can add at most index + 1 elements, so
   * the sum over a path's indices bounds it before anything is applied. Each index alone is bounded
   * by `maxPathIndex`; without this, `[100000][100000]…` would allocate their sum.
   */
  maxArrayGrowth: number;
}

/** Splits a path into tokens, or returns a reason why it is refused. */
export function parsePath(path: string, limits: PathLimits): PathToken[] | string {
  if (path.length > limits.maxPathLength) return `path longer than ${limits.maxPathLength} characters`;
  const tokens: PathToken[] = [];
  for (const rawPart of path.split('.')) {
    const part = rawPart.trim();
    if (part === '') continue;
    const pieces = part.split(/[[\]]/);
    const key = pieces[0]!.trim();
    if (key !== '') tokens.push(key);
    for (let i = 1; i < pieces.length; i += 2) {
      const index = pieces[i]!.trim();
      if (!/^\d+$/.test(index)) return `"${part}" has an array index that is not a number`;
      const n = Number(index);
      if (n > limits.maxPathIndex) return `array index ${index} is larger than ${limits.maxPathIndex}`;
      tokens.push(n);
    }
  }
  if (tokens.length === 0) return 'the path is empty';
  if (tokens.length > limits.maxPathDepth) return `the path has ${tokens.length} parts, more than maxPathDepth (${limits.maxPathDepth})`;
  let growth = 0;
  for (const token of tokens) if (typeof token === 'number') growth += token + 1;
  if (growth > limits.maxArrayGrowth) return `the path could create ${growth} array elements, more than maxArrayGrowth (${limits.maxArrayGrowth})`;
  for (const token of tokens) if (typeof token === 'string' && FORBIDDEN.has(token)) return `"${token}" is not allowed in a path`;
  return tokens;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container => value !== null && typeof value === 'object';

/**
 * Returns a new root with `value` at the path (or the key deleted when `value` is undefined),
 * copying only the containers along the path: stored versions are never mutated.
 */
export function setPath(root: Container, tokens: readonly PathToken[], value: unknown): Container {
  const copy = (node: unknown, depth: number): Container => {
    const token = tokens[depth]!;
    let next: Container;
    if (isContainer(node)) next = Array.isArray(node) ? node.slice() : { ...node };
    else next = typeof token === 'number' ? new Array<unknown>(token).fill(null) : {};
    const target = next as Record<PathToken, unknown>;
    if (depth === tokens.length - 1) {
      if (value === undefined) delete target[token];
      else target[token] = value;
    } else {
      const child = target[token];
      // Missing or scalar on the way: a fresh array when the next token indexes, else an object.
      target[token] = copy(isContainer(child) ? child : typeof tokens[depth + 1] === 'number' ? new Array<unknown>(tokens[depth + 1] as number).fill(null) : {}, depth + 1);
    }
    return next;
  };
  return copy(root, 0);
}
