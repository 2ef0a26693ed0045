/**
 * JIF, the JSON request format of the HTTP API (HTTP_AND_CONFIG §2.2): validation of one element of
 * a batch's `body` into a typed request. Lists are records whose data is an array of strings, so
 * list requests come out as record requests.
 */

export type JifRequest =
  | { readonly kind: 'emit'; readonly eventName: string; readonly data: unknown }
  | { readonly kind: 'make'; readonly rpcName: string; readonly data: unknown }
  | { readonly kind: 'read' | 'head' | 'delete'; readonly recordName: string }
  | { readonly kind: 'write'; readonly recordName: string; readonly data: unknown; readonly path: string | undefined; readonly version: number }
  | { readonly kind: 'notify'; readonly recordNames: readonly string[] }
  | { readonly kind: 'query'; readonly names: readonly string[] | undefined };

type JsonObject = Record<string, unknown>;
/** Why a value is unusable, or undefined when it is fine. */
type Check = (value: unknown) => string | undefined;

interface Shape {
  readonly required: Readonly<Record<string, Check>>;
  readonly optional: Readonly<Record<string, Check>>;
  /** Checks that involve several properties. */
  readonly refine?: (request: JsonObject) => string | undefined;
  readonly build: (request: JsonObject) => JifRequest;
}

const nonEmptyString: Check = (v) => (typeof v === 'string' && v !== '' ? undefined : 'must be a non-empty string');
const anyString: Check = (v) => (typeof v === 'string' ? undefined : 'must be a string');
const anyJson: Check = () => undefined;
const stringArray: Check = (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? undefined : 'must be an array of strings');
const objectOrArray: Check = (v) => (v !== null && typeof v === 'object' ? undefined : 'must be an object or an array');
const version: Check = (v) => (Number.isInteger(v) && (v as number) >= -1 ? undefined : 'must be an integer of at least -1');

const readOf = (kind: 'read' | 'head' | 'delete', key: string): Shape => ({
  required: { [key]: nonEmptyString },
  optional: {},
  build: (r) => ({ kind, recordName: r[key] as string }),
});

const SHAPES: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  event: {
    emit: { required: { eventName: nonEmptyString }, optional: { data: anyJson }, build: (r) => ({ kind: 'emit', eventName: r.eventName as string, data: r.data }) },
  },
  rpc: {
    make: { required: { rpcName: nonEmptyString }, optional: { data: anyJson }, build: (r) => ({ kind: 'make', rpcName: r.rpcName as string, data: r.data }) },
  },
  record: {
    read: readOf('read', 'recordName'),
    head: readOf('head', 'recordName'),
    delete: readOf('delete', 'recordName'),
    write: {
      required: { recordName: nonEmptyString, data: anyJson },
      optional: { path: anyString, version },
      // Without a path the data replaces the whole record, which is always an object or array.
      refine: (r) => (r.path === undefined ? prefix('data', objectOrArray(r.data)) : undefined),
      build: (r) => ({ kind: 'write', recordName: r.recordName as string, data: r.data, path: r.path as string | undefined, version: (r.version as number | undefined) ?? -1 }),
    },
    notify: { required: { recordNames: stringArray }, optional: {}, build: (r) => ({ kind: 'notify', recordNames: r.recordNames as string[] }) },
  },
  list: {
    read: readOf('read', 'listName'),
    delete: readOf('delete', 'listName'),
    write: {
      required: { listName: nonEmptyString, data: stringArray },
      optional: { version },
      build: (r) => ({ kind: 'write', recordName: r.listName as string, data: r.data, path: undefined, version: (r.version as number | undefined) ?? -1 }),
    },
  },
  presence: {
    query: { required: {}, optional: { names: stringArray }, build: (r) => ({ kind: 'query', names: r.names as string[] | undefined }) },
  },
};

/** One element of `body`: the request, or why it is not a valid JIF request. */
export function parseJif(element: unknown): JifRequest | string {
  if (element === null || typeof element !== 'object' || Array.isArray(element)) return 'the request must be an object';
  const request = element as JsonObject;
  const { topic, action } = request;
  if (typeof topic !== 'string' || !Object.hasOwn(SHAPES, topic)) return `"topic" must be one of ${Object.keys(SHAPES).join(', ')}`;
  const actions = SHAPES[topic]!;
  if (typeof action !== 'string' || !Object.hasOwn(actions, action)) return `"action" of topic ${topic} must be one of ${Object.keys(actions).join(', ')}`;
  const shape = actions[action]!;
  for (const [key, check] of Object.entries(shape.required)) {
    if (!Object.hasOwn(request, key)) return `"${key}" is required`;
    const problem = prefix(key, check(request[key]));
    if (problem !== undefined) return problem;
  }
  for (const key of Object.keys(request)) {
    if (key === 'topic' || key === 'action' || Object.hasOwn(shape.required, key)) continue;
    const check = Object.hasOwn(shape.optional, key) ? shape.optional[key] : undefined;
    if (check === undefined) return `unexpected property "${key}" for ${topic} ${action}`;
    const problem = prefix(key, check(request[key]));
    if (problem !== undefined) return problem;
  }
  return shape.refine?.(request) ?? shape.build(request);
}

function prefix(key: string, problem: string | undefined): string | undefined {
  return problem === undefined ? undefined : `"${key}" ${problem}`;
}
