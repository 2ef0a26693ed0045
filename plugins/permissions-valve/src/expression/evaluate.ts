import type { Node } from './ast.ts';
import { FORBIDDEN_PROPERTIES } from './analyze.ts';

/** What a rule sees. Values are JSON data, strings and numbers: nothing callable ever enters. */
export interface Scope {
  readonly user: unknown;
  readonly data: unknown;
  readonly oldData: unknown;
  readonly now: number;
  readonly action: number | undefined;
  readonly name: string;
  /** Path variables by their name with `$`. */
  readonly variables: ReadonlyMap<string, string>;
  /** The data of another record (null when missing); throws NeedsRecord while it is not loaded yet. */
  crossReference(name: string): unknown;
}

/** A rule that failed while it ran (the rule's fault or the data's): the check answers with an error. */
export class RuleError extends Error {}

/**
 * Thrown by `Scope.crossReference` for a record that is not loaded yet: the caller loads it and runs
 * the rule again, as the reference does (SECURITY §3.6). Not an Error: it is control flow.
 */
export class NeedsRecord {
  constructor(readonly name: string) {}
}

/** Longest string a rule may build with `+`, so that a rule cannot be made to allocate without bound. */
export const MAX_STRING_LENGTH = 4 * 1024 * 1024;

// Captured once: the interpreter calls these and nothing else, whatever happens to the prototypes later.
const STRING_METHODS: ReadonlyMap<string, (this: string, ...args: never[]) => unknown> = new Map<string, (this: string, ...args: never[]) => unknown>([
  ['startsWith', String.prototype.startsWith],
  ['endsWith', String.prototype.endsWith],
  ['includes', String.prototype.includes],
  ['indexOf', String.prototype.indexOf],
  ['match', String.prototype.match],
  ['toUpperCase', String.prototype.toUpperCase],
  ['toLowerCase', String.prototype.toLowerCase],
  ['trim', String.prototype.trim],
]);
const ARRAY_METHODS: ReadonlyMap<string, (this: unknown[], ...args: never[]) => unknown> = new Map<string, (this: unknown[], ...args: never[]) => unknown>([
  ['includes', Array.prototype.includes],
  ['indexOf', Array.prototype.indexOf],
]);
const isArray = Array.isArray;
const hasOwn = Object.hasOwn;

/** `a?.b.c` with `a` nullish: the rest of the chain is skipped and the chain is undefined. */
const SHORT_CIRCUIT = Symbol('short-circuit');

/** Runs a checked syntax tree. Throws RuleError (or NeedsRecord) instead of returning on failure. */
export function evaluate(node: Node, scope: Scope): unknown {
  const value = run(node, scope);
  return value === SHORT_CIRCUIT ? undefined : value;
}

function run(node: Node, scope: Scope): unknown {
  switch (node.type) {
    case 'literal':
    case 'regex':
      return node.value;
    case 'array':
      return node.elements.map((element) => evaluate(element, scope));
    case 'identifier':
      return identifier(node.name, scope);
    case 'member': {
      const object = run(node.object, scope);
      if (object === SHORT_CIRCUIT || (node.optional && (object === null || object === undefined))) return SHORT_CIRCUIT;
      const key = typeof node.property === 'string' ? node.property : evaluate(node.property, scope);
      return property(object, key);
    }
    case 'method': {
      const receiver = run(node.object, scope);
      if (receiver === SHORT_CIRCUIT || (node.optional && (receiver === null || receiver === undefined))) return SHORT_CIRCUIT;
      return callMethod(receiver, node.method, node.args.map((arg) => evaluate(arg, scope)));
    }
    case 'crossReference': {
      const name = evaluate(node.arg, scope);
      // The reference answers undefined without loading for these (SECURITY §3.6).
      if (name === undefined || (typeof name === 'string' && name.includes('undefined'))) return undefined;
      if (typeof name !== 'string') throw new RuleError(`_() needs a record name, got ${typeName(name)}`);
      return scope.crossReference(name);
    }
    case 'unary':
      return unary(node.operator, evaluate(node.argument, scope));
    case 'logical': {
      const left = evaluate(node.left, scope);
      if (node.operator === '&&') return left ? evaluate(node.right, scope) : left;
      if (node.operator === '||') return left ? left : evaluate(node.right, scope);
      return left ?? evaluate(node.right, scope);
    }
    case 'conditional':
      return evaluate(node.test, scope) ? evaluate(node.consequent, scope) : evaluate(node.alternate, scope);
    case 'binary':
      return binary(node.operator, evaluate(node.left, scope), evaluate(node.right, scope));
  }
}

function identifier(name: string, scope: Scope): unknown {
  switch (name) {
    case 'user':
      return scope.user;
    case 'data':
      return scope.data;
    case 'oldData':
      return scope.oldData;
    case 'now':
      return scope.now;
    case 'action':
      return scope.action;
    case 'name':
      return scope.name;
  }
  // Checked when the rules loaded: anything else is one of this path's variables.
  return scope.variables.get(name);
}

/**
 * Property access over data only: own properties of objects and arrays, `length` and indexes of
 * strings. Inherited members (methods, `constructor`, ...) do not exist for rules.
 */
function property(object: unknown, key: unknown): unknown {
  let k: string;
  if (typeof key === 'string') k = key;
  else if (typeof key === 'number' && Number.isInteger(key)) k = String(key);
  else throw new RuleError(`a property name must be a string or an integer, got ${typeName(key)}`);
  if (object === null || object === undefined) throw new RuleError(`cannot read "${k.slice(0, 100)}" of ${String(object)}`);
  if (FORBIDDEN_PROPERTIES.has(k)) throw new RuleError(`the property "${k}" is not accessible in rules`);
  if (typeof object === 'string') {
    if (k === 'length') return object.length;
    return /^\d+$/.test(k) ? object[Number(k)] : undefined;
  }
  if (isArray(object)) return k === 'length' ? object.length : hasOwn(object, k) ? (object as unknown as Record<string, unknown>)[k] : undefined;
  if (typeof object === 'object' && !(object instanceof RegExp)) return hasOwn(object, k) ? (object as Record<string, unknown>)[k] : undefined;
  return undefined; // numbers, booleans and regular expressions have no data properties
}

function callMethod(receiver: unknown, method: string, args: unknown[]): unknown {
  if (typeof receiver === 'string') {
    // A pattern from data would let a client choose the regular expression (and its cost).
    if (method === 'match' && !(args[0] instanceof RegExp)) throw new RuleError('match() takes a regular expression literal such as /^admin/');
    const fn = STRING_METHODS.get(method);
    if (fn !== undefined) return Reflect.apply(fn, receiver, args);
  } else if (isArray(receiver)) {
    const fn = ARRAY_METHODS.get(method);
    if (fn !== undefined) return Reflect.apply(fn, receiver, args);
  }
  throw new RuleError(`${method}() cannot be called on ${typeName(receiver)}`);
}

function unary(operator: '!' | '-' | '+' | 'typeof', value: unknown): unknown {
  switch (operator) {
    case '!':
      return !value;
    case '-':
      return -(value as number);
    case '+':
      return +(value as number);
    case 'typeof':
      return typeof value;
  }
}

function binary(operator: string, left: unknown, right: unknown): unknown {
  const l = left as number;
  const r = right as number;
  switch (operator) {
    case '===':
      return left === right;
    case '!==':
      return left !== right;
    case '==':
      return left == right;
    case '!=':
      return left != right;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '+': {
      const sum: unknown = l + r;
      if (typeof sum === 'string' && sum.length > MAX_STRING_LENGTH) throw new RuleError(`the rule built a string longer than ${MAX_STRING_LENGTH} characters`);
      return sum;
    }
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
  }
  throw new RuleError(`unknown operator ${operator}`);
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (isArray(value)) return 'an array';
  if (value instanceof RegExp) return 'a regular expression';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
