import { children, type Node } from './ast.ts';
import { ExpressionError } from './tokenize.ts';

/** The names a rule may read; path variables (`$id`) come on top, per path. */
export const ENVIRONMENT = ['user', 'data', 'oldData', 'now', 'action', 'name'] as const;

/**
 * The methods a rule may call (SECURITY §3.2), with how many arguments each takes and what it may
 * be called on. `_` is separate: it is the cross-reference, not a method.
 */
export const METHODS: ReadonlyMap<string, { readonly min: number; readonly max: number; readonly on: 'string' | 'string or array' }> = new Map([
  ['startsWith', { min: 1, max: 2, on: 'string' }],
  ['endsWith', { min: 1, max: 2, on: 'string' }],
  ['includes', { min: 1, max: 2, on: 'string or array' }],
  ['indexOf', { min: 1, max: 2, on: 'string or array' }],
  ['match', { min: 1, max: 1, on: 'string' }],
  ['toUpperCase', { min: 0, max: 0, on: 'string' }],
  ['toLowerCase', { min: 0, max: 0, on: 'string' }],
  ['trim', { min: 0, max: 0, on: 'string' }],
] as const);

/** Property names that lead from data to the object model; refused wherever they appear. */
export const FORBIDDEN_PROPERTIES: ReadonlySet<string> = new Set(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

/** Names people try to escape with: refused with a pointed reason rather than "unknown". */
const ESCAPE_NAMES: ReadonlySet<string> = new Set([
  'process', 'global', 'globalThis', 'require', 'module', 'exports', 'eval', 'Function', 'Object', 'Reflect',
  'Proxy', 'window', 'self', 'constructor', 'prototype', '__proto__', 'Symbol', 'Buffer', 'setTimeout',
  'setInterval', 'queueMicrotask', 'fetch', 'WebAssembly', 'Atomics', 'SharedArrayBuffer',
]);

/** What a rule reads, so that a check loads only what the rule needs. */
export interface Usage {
  readonly data: boolean;
  readonly oldData: boolean;
  readonly crossReferences: boolean;
}

/**
 * Checks a parsed rule against the allow-list: known names only, no path to the object model,
 * only the allowed methods with the right number of arguments. Throws ExpressionError.
 */
export function analyze(root: Node, variables: ReadonlySet<string>): Usage {
  const usage = { data: false, oldData: false, crossReferences: false };
  // Children first: `process.exit()` is refused for `process`, the root of the problem.
  const visit = (node: Node): void => {
    for (const child of children(node)) visit(child);
    switch (node.type) {
      case 'identifier':
        checkIdentifier(node.name, node.pos, variables);
        if (node.name === 'data') usage.data = true;
        if (node.name === 'oldData') usage.oldData = true;
        break;
      case 'member': {
        const key = typeof node.property === 'string' ? node.property : node.property.type === 'literal' ? node.property.value : undefined;
        if (typeof key === 'string' && FORBIDDEN_PROPERTIES.has(key)) throw new ExpressionError(`the property "${key}" is not accessible in rules`, node.pos);
        break;
      }
      case 'method': {
        if (FORBIDDEN_PROPERTIES.has(node.method)) throw new ExpressionError(`the property "${node.method}" is not accessible in rules`, node.pos);
        const spec = METHODS.get(node.method);
        if (spec === undefined) throw new ExpressionError(`the method "${node.method}" is not allowed (allowed: ${[...METHODS.keys()].join(', ')})`, node.pos);
        if (node.args.length < spec.min || node.args.length > spec.max) {
          const expected = spec.min === spec.max ? `${spec.min}` : `${spec.min} or ${spec.max}`;
          throw new ExpressionError(`${node.method}() takes ${expected} argument${spec.max === 1 ? '' : 's'}, got ${node.args.length}`, node.pos);
        }
        break;
      }
      case 'crossReference':
        usage.crossReferences = true;
        break;
    }
  };
  visit(root);
  return usage;
}

function checkIdentifier(name: string, pos: number, variables: ReadonlySet<string>): void {
  if ((ENVIRONMENT as readonly string[]).includes(name) || variables.has(name)) return;
  if (name === '_') throw new ExpressionError('"_" can only be called, as _(\'record/name\')', pos);
  if (ESCAPE_NAMES.has(name)) throw new ExpressionError(`"${name}" is not available in rules`, pos);
  if (name.startsWith('$')) {
    const known = variables.size === 0 ? 'this path has none' : `this path has ${[...variables].join(', ')}`;
    throw new ExpressionError(`unknown path variable "${name}" (${known})`, pos);
  }
  throw new ExpressionError(`unknown name "${name}" (rules may use ${ENVIRONMENT.join(', ')}, _() and the path's $variables)`, pos);
}
