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
