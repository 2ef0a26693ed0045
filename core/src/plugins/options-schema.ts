import type { TObject, TSchema } from '@sinclair/typebox';
import type { ValueError } from '@sinclair/typebox/value';
import { Kind, Value, ValueErrorType } from '../util/typebox.ts';

/**
 * Options checked against a TypeBox schema, once at start: defaults filled in deeply (a partial
 * nested object keeps the other defaults), then every key checked, nested ones included. Objects
 * are closed unless their schema says `additionalProperties`, so a typo is an unknown key, never a
 * setting silently ignored. Problems come back as one sentence naming the key path and quoting the
 * value as written (`got "6020"`).
 *
 * A schema may say what it expects in words with `expected` (`{ expected: 'a path starting with "/"' }`),
 * and `writeOnly: true` keeps a secret's value out of the message.
 */

/** How problems are worded: kernel config says `connection.port must…`, plugins say `option "x" must…`. */
export type OptionsNoun = 'key' | 'option';

export interface CheckedOptions<T> {
  readonly value: T;
  /** The first problem found, as a sentence; undefined when the options are valid. */
  readonly problem: string | undefined;
}

/** Fills in the schema's defaults and checks the result. `given` is copied, never changed. */
export function applySchema<T>(schema: TSchema, given: unknown, noun: OptionsNoun): CheckedOptions<T> {
  const closed = closeObjects(schema);
  const value = fillDefaults(closed, copyPlain(given ?? {})) as T;
  const error = mostTelling([...Value.Errors(closed, value)]);
  return { value, problem: error === undefined ? undefined : describeProblem(error, noun) };
}

/** The options a schema gives when nothing is configured (for exported DEFAULT_… constants and docs). */
export function optionDefaults<S extends TObject>(schema: S): Record<string, unknown> {
  return fillDefaults(schema, {}) as Record<string, unknown>;
}

/**
 * Missing keys take their schema `default`, all the way down. Unlike TypeBox's `Value.Default`,
 * an object given where a union allows one (`loginBackoff: false | {…}`) is filled from that
 * variant even when it is invalid, so the error names the real mistake, not a missing default.
 * `value` is a private copy and is filled in place.
 */
function fillDefaults(schema: TSchema, value: unknown): unknown {
  const s = schema as TSchema & { default?: unknown; properties?: Record<string, TSchema>; anyOf?: TSchema[]; items?: TSchema };
  if (value === undefined && 'default' in s) value = copyPlain(s.default);
  if (schema[Kind] === 'Object' && isPlainObject(value)) {
    for (const [key, property] of Object.entries(s.properties ?? {})) {
      const filled = fillDefaults(property, value[key]);
      if (filled !== undefined) value[key] = filled;
    }
  } else if (schema[Kind] === 'Union' && isPlainObject(value)) {
    const objects = (s.anyOf ?? []).filter((variant) => variant[Kind] === 'Object');
    if (objects.length === 1) fillDefaults(objects[0]!, value);
  } else if (schema[Kind] === 'Array' && Array.isArray(value) && s.items !== undefined) {
    for (const [index, item] of value.entries()) value[index] = fillDefaults(s.items, item);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** True for a TypeBox schema (any copy of TypeBox: `Kind` is a registered symbol). */
export function isSchema(value: unknown): value is TSchema {
  return value !== null && typeof value === 'object' && Kind in value;
}

const closedSchemas = new WeakMap<TSchema, TSchema>();

/** The schema with `additionalProperties: false` on every object that leaves it unsaid. */
function closeObjects(schema: TSchema): TSchema {
  let closed = closedSchemas.get(schema);
  if (closed === undefined) closedSchemas.set(schema, (closed = close(schema)));
  return closed;
}

function close(schema: TSchema): TSchema {
  const copy: Record<string | symbol, unknown> = { ...schema };
  if (schema[Kind] === 'Object' && copy.additionalProperties === undefined) copy.additionalProperties = false;
  if (isRecord(copy.properties)) copy.properties = mapValues(copy.properties, close);
  if (isRecord(copy.patternProperties)) copy.patternProperties = mapValues(copy.patternProperties, close);
  if (isSchema(copy.items)) copy.items = close(copy.items);
  for (const key of ['anyOf', 'allOf', 'oneOf'] as const) {
    if (Array.isArray(copy[key])) copy[key] = (copy[key] as TSchema[]).map(close);
  }
  return copy as unknown as TSchema;
}

/**
 * A typo shows up twice: the misspelt key is unknown and the real one is missing. The unknown key
 * is the cause, so it is reported first; a union's own failure gives way to the deeper one.
 */
function mostTelling(errors: ValueError[]): ValueError | undefined {
  const resolved = errors.map(insideUnion);
  return resolved.find((error) => error.type === ValueErrorType.ObjectAdditionalProperties) ?? resolved[0];
}

function describeProblem(innermost: ValueError, noun: OptionsNoun): string {
  const path = dottedPath(innermost.path);
  const subject = path === '' ? (noun === 'option' ? 'the options' : 'the config') : noun === 'option' ? `option "${path}"` : path;
  if (innermost.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys((innermost.schema as { properties?: object }).properties ?? {});
    return `unknown ${noun} "${path}"; known ${noun}s${parentOf(path)}: ${known.join(', ') || 'none'}`;
  }
  const expected = describeSchema(innermost.schema);
  if (innermost.value === undefined) return `${subject} must be ${expected}; it is missing`;
  return `${subject} must be ${expected}, got ${quote(innermost.value, innermost.schema)}`;
}

/**
 * A union (`false` or an object, say) reports only "no variant matched". When the value has the
 * shape of one variant and fails deeper inside it, that deeper failure is the useful one.
 */
function insideUnion(error: ValueError): ValueError {
  if (error.type !== ValueErrorType.Union) return error;
  for (const variant of error.errors) {
    const inner = [...variant];
    if (inner.length > 0 && inner.every((e) => e.path.length > error.path.length)) return mostTelling(inner)!;
  }
  return error;
}

/** In words, what a schema accepts: "a positive integer", "one of info, debug", "false or an object". */
export function describeSchema(schema: TSchema): string {
  const s = schema as TSchema & Record<string, unknown>;
  if (typeof s.expected === 'string') return s.expected;
  switch (schema[Kind]) {
    case 'Literal':
      return typeof s.const === 'string' ? JSON.stringify(s.const) : String(s.const);
    case 'Union': {
      const variants = s.anyOf as TSchema[];
      const constants = variants.map((v) => (v as TSchema & { const?: unknown }).const);
      if (variants.every((v) => v[Kind] === 'Literal') && constants.every((c) => typeof c === 'string')) {
        return `one of ${constants.join(', ')}`;
      }
      return variants.map(describeSchema).join(' or ');
    }
    case 'Boolean':
      return 'true or false';
    case 'Integer':
      return range('an integer', s);
    case 'Number':
      return range('a number', s);
    case 'String':
      if (typeof s.pattern === 'string') return `a string matching /${s.pattern}/`;
      return s.minLength === 1 ? 'a non-empty string' : 'a string';
    case 'Array':
      return `a list, each item ${describeSchema(s.items as TSchema)}`;
    case 'Record':
      return 'a map';
    case 'Object':
      return `an object { ${Object.keys(s.properties as object).join(', ')} }`;
    default:
      return 'a valid value';
  }
}

function range(kind: 'an integer' | 'a number', s: Record<string, unknown>): string {
  const { minimum, maximum, exclusiveMinimum } = s as { minimum?: number; maximum?: number; exclusiveMinimum?: number };
  if (minimum !== undefined && maximum !== undefined) return `${kind} from ${minimum} to ${maximum}`;
  if (exclusiveMinimum === 0 || (kind === 'an integer' && minimum === 1)) return kind === 'an integer' ? 'a positive integer' : 'a positive number';
  if (exclusiveMinimum !== undefined) return `${kind} > ${exclusiveMinimum}`;
  if (minimum !== undefined) return `${kind} >= ${minimum}`;
  if (maximum !== undefined) return `${kind} <= ${maximum}`;
  return kind;
}

/** The value as the user wrote it: strings in quotes, so `"6020"` shows it was text. Long values are cut. */
function quote(value: unknown, schema: TSchema): string {
  if ((schema as { writeOnly?: boolean }).writeOnly === true) return `a ${typeof value} (not shown)`;
  let text: string;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `/connection/loginBackoff/window` → `connection.loginBackoff.window`; `/sentinels/0/port` → `sentinels[0].port`. */
export function dottedPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(key) ? `[${key}]` : path === '' ? key : `.${key}`;
  }
  return path;
}

function parentOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : ` of ${path.slice(0, cut)}`;
}

function isRecord(value: unknown): value is Record<string, TSchema> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mapValues(record: Record<string, TSchema>, fn: (schema: TSchema) => TSchema): Record<string, TSchema> {
  return Object.fromEntries(Object.entries(record).map(([key, schema]) => [key, fn(schema)]));
}

/** Plain objects and arrays copied all the way down; anything else (a function, a class instance) kept as is. */
function copyPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPlain);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, copyPlain(inner)]));
  }
  return value;
}
