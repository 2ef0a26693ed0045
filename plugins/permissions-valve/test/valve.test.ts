/**
 * The valve without sockets: which rule a request meets, what `data` and `oldData` are, cross-
 * references, and how failures are answered and logged. The valve sees only feature-neutral
 * requests (resource, name, permission, facts); `fromWire` below builds them as the feature
 * plugins declare them, so that the cases read as the messages users send.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EVENT_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
  type AuthorizationFacts,
  type AuthorizationRequest,
  type Logger,
  type Message,
  type RecordReader,
  type Session,
  type StoredRecord,
} from '@deepstream-ts/core';
import { compileInlineRules } from '../src/rules/load.ts';
import { Valve, type ValveSettings } from '../src/valve.ts';

const LIMITS = { maxLength: 4096, maxDepth: 64 };
const SETTINGS: ValveSettings = { maxRuleIterations: 3, recordLoadTimeout: 200, cacheEvacuationInterval: 60_000, maxCachedSelections: 1000 };
const ALLOWED = { allowed: true };
const DENIED = { allowed: false };
const FAILED = { allowed: false, error: true };

/** Records in memory, counting loads; a name in `failing` rejects, one in `hanging` never answers. */
class FakeRecords implements RecordReader {
  readonly records = new Map<string, StoredRecord>();
  readonly loads: string[] = [];
  readonly failing = new Set<string>();
  readonly hanging = new Set<string>();

  set(name: string, data: StoredRecord['data'], version = 1): this {
    this.records.set(name, { version, data });
    return this;
  }

  snapshot(name: string): Promise<StoredRecord | undefined> {
    this.loads.push(name);
    if (this.failing.has(name)) return Promise.reject(new Error('storage is down'));
    if (this.hanging.has(name)) return new Promise(() => undefined);
    return Promise.resolve(this.records.get(name));
  }
}

interface LogEntry {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

function fakeLogger(entries: LogEntry[]): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => entries.push({ level, fields, msg });
  return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
}

const session = (userId: string, serverData?: unknown) => ({ userId, serverData }) as unknown as Session;

const valves: Valve[] = [];
after(() => valves.forEach((v) => v.close()));

function setup(permissions: Record<string, unknown>, records: FakeRecords | null = new FakeRecords(), settings = SETTINGS) {
  const logs: LogEntry[] = [];
  const document = {
    presence: { '*': { allow: true } },
    record: { '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true } },
    event: { '*': { publish: true, subscribe: true, listen: true } },
    rpc: { '*': { provide: true, request: true } },
    ...permissions,
  };
  const valve = new Valve(compileInlineRules(document, LIMITS), settings, fakeLogger(logs), records ?? undefined);
  valves.push(valve);
  const reader = records ?? new FakeRecords();
  const ask = (who: Session, message: Message, name = message.name ?? '', permission?: string, facts?: AuthorizationFacts) =>
    valve.decide(fromWire(who, message, name, permission, facts, reader));
  return { valve, logs, records: reader, ask, decide: (request: AuthorizationRequest) => valve.decide(request) };
}

const RESOURCES: Partial<Record<number, string>> = { [TOPIC.RECORD]: 'record', [TOPIC.EVENT]: 'event', [TOPIC.RPC]: 'rpc', [TOPIC.PRESENCE]: 'presence' };
/** The permission each plugin declares for an action that needs one on its own. */
const DECLARED: Record<string, Partial<Record<number, string>>> = {
  record: {
    [RECORD_ACTION.SUBSCRIBE]: 'read',
    [RECORD_ACTION.READ]: 'read',
    [RECORD_ACTION.UPDATE]: 'write',
    [RECORD_ACTION.PATCH]: 'write',
    [RECORD_ACTION.ERASE]: 'delete',
    [RECORD_ACTION.DELETE]: 'delete',
  },
  event: { [EVENT_ACTION.EMIT]: 'publish', [EVENT_ACTION.SUBSCRIBE]: 'subscribe' },
  rpc: { [RPC_ACTION.PROVIDE]: 'provide', [RPC_ACTION.REQUEST]: 'request' },
  presence: { [PRESENCE_ACTION.SUBSCRIBE]: 'allow', [PRESENCE_ACTION.QUERY_ALL]: 'allow' },
};
const STAGE_ACTION: Record<string, number> = { create: RECORD_ACTION.CREATE, read: RECORD_ACTION.READ, write: RECORD_ACTION.UPDATE };

/**
 * The request a feature plugin makes of a message: events and RPC offer the payload as `data`;
 * records the stored record as `oldData` and, for a whole-record write, the new one as `data`.
 * Compound record requests show rules the action of their stage.
 */
function fromWire(session: Session, message: Message, name: string, permission: string | undefined, facts: AuthorizationFacts | undefined, records: RecordReader): AuthorizationRequest {
  const resource = RESOURCES[message.topic] ?? 'none';
  const asked = permission ?? DECLARED[resource]?.[message.action] ?? 'none';
  const compound = resource === 'record' && (message.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD || message.action === RECORD_ACTION.CREATEANDUPDATE);
  const action = compound ? STAGE_ACTION[asked] : message.action;
  const payload = () => (message.data === undefined ? undefined : (JSON.parse(message.data) as unknown));
  const stored = { oldData: async () => (await records.snapshot(name))?.data ?? null };
  const offered: AuthorizationFacts | undefined =
    facts ?? (resource === 'record' ? (asked === 'write' && message.path === undefined ? { ...stored, data: payload } : stored) : resource === 'none' ? undefined : { data: payload });
  return { session, resource, name, permission: asked, action, facts: offered };
}

const emit = (name: string, data?: unknown): Message => ({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, ...(data === undefined ? {} : { data: JSON.stringify(data) }) });
const record = (action: RECORD_ACTION, name: string, extra: Partial<Message> = {}): Message => ({ topic: TOPIC.RECORD, action, name, ...extra });

describe('valve: deciding', () => {
  it('allows only on true; false and missing rules deny', async () => {
    const { ask } = setup({ event: { '*': { publish: true }, 'no/*': { publish: false }, 'expr/*': { publish: "name === 'expr/ok'" } } });
    const alice = session('alice');
    assert.deepEqual(await ask(alice, emit('a')), ALLOWED);
    assert.deepEqual(await ask(alice, emit('no/x')), DENIED);
    assert.deepEqual(await ask(alice, emit('expr/ok')), ALLOWED);
    assert.deepEqual(await ask(alice, emit('expr/no')), DENIED);
    // "*" defines no subscribe rule here: missing rule = deny
    assert.deepEqual(await ask(alice, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['a'] }, 'a'), DENIED);
  });

  it('denies non-boolean results (the reference allowed them) and logs that once per rule', async () => {
    const { ask, logs } = setup({ event: { '*': { publish: 'data.nothing' }, 'num/*': { publish: '1' }, 'str/*': { publish: "'yes'" } } });
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await ask(session('a'), emit('x', { y: 1 })), DENIED);
      assert.deepEqual(await ask(session('a'), emit('num/1')), DENIED);
      assert.deepEqual(await ask(session('a'), emit('str/1')), DENIED);
    }
    const warnings = logs.filter((entry) => entry.level === 'warn');
    assert.deepEqual(
      warnings.map((entry) => entry.fields),
      [
        { rule: 'inline permissions event "*" publish', result: 'undefined' },
        { rule: 'inline permissions event "num/*" publish', result: 'number' },
        { rule: 'inline permissions event "str/*" publish', result: 'string' },
      ],
    );
  });

  it('answers a rule that throws with an error verdict and logs it once per rule', async () => {
    const { ask, logs } = setup({ event: { '*': { publish: 'data.a.b.c === 1' } } });
    for (let i = 0; i < 5; i++) assert.deepEqual(await ask(session('a'), emit('x', { a: null })), FAILED);
    assert.deepEqual(await ask(session('a'), emit('x', { a: { b: { c: 1 } } })), ALLOWED);
    const warnings = logs.filter((entry) => entry.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.fields.rule, 'inline permissions event "*" publish');
    assert.match(String(warnings[0]!.fields.reason), /cannot read "b" of null/);
  });

  it('sees the user: id, isAuthenticated (false only for "open") and serverData', async () => {
    const { ask } = setup({
      event: {
        '*': { publish: 'user.isAuthenticated' },
        'admin/*': { publish: "user.data.role === 'admin'" },
        'own/$id': { publish: 'user.id === $id' },
      },
    });
    assert.deepEqual(await ask(session('open'), emit('x')), DENIED);
    assert.deepEqual(await ask(session('OPEN'), emit('x')), ALLOWED);
    assert.deepEqual(await ask(session('ann', { role: 'admin' }), emit('admin/x')), ALLOWED);
    assert.deepEqual(await ask(session('bob', { role: 'user' }), emit('admin/x')), DENIED);
    assert.deepEqual(await ask(session('bob'), emit('admin/x')), FAILED, 'user.data is null without serverData');
    assert.deepEqual(await ask(session('bob'), emit('own/bob')), ALLOWED);
    assert.deepEqual(await ask(session('bob'), emit('own/ann')), DENIED);
  });

  it('gives rules the action of the checked message, and of the stage for compound record checks', async () => {
    const { ask } = setup({
      record: { '*': { create: 'action === 15', read: 'action === 3 || action === 25', write: 'action === 18 || action === 19' } },
      event: { '*': { publish: 'action === 2' } },
    });
    const a = session('a');
    assert.deepEqual(await ask(a, emit('x')), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.SUBSCRIBECREATEANDREAD, 'r'), 'r', 'create'), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.SUBSCRIBECREATEANDREAD, 'r'), 'r', 'read'), ALLOWED);
    assert.deepEqual(await ask(a, { topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBE, names: ['r'] }, 'r'), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.CREATEANDUPDATE, 'r', { data: '{}' }), 'r', 'create'), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.CREATEANDUPDATE, 'r', { data: '{}' }), 'r', 'write'), ALLOWED);
  });

  it('decides by resource and permission alone, and denies what permissions.yml has no rule type for', async () => {
    const { decide, logs } = setup({
      record: { '*': { create: "name === 'create'", read: "name === 'read'", write: "name === 'write'", delete: "name === 'delete'", listen: "name === 'listen'", notify: "name === 'notify'" } },
      event: { '*': { publish: "name === 'publish'", subscribe: "name === 'subscribe'", listen: "name === 'listen'" } },
      rpc: { '*': { provide: "name === 'provide'", request: "name === 'request'" } },
      presence: { '*': { allow: "name === 'allow'" } },
    });
    const a = session('a');
    const cases: Array<[string, string]> = [
      ...['create', 'read', 'write', 'delete', 'listen', 'notify'].map((p): [string, string] => ['record', p]),
      ...['publish', 'subscribe', 'listen'].map((p): [string, string] => ['event', p]),
      ['rpc', 'provide'],
      ['rpc', 'request'],
      ['presence', 'allow'],
    ];
    for (const [resource, permission] of cases) {
      assert.deepEqual(await decide({ session: a, resource, name: permission, permission }), ALLOWED, `${resource} ${permission}`);
      assert.deepEqual(await decide({ session: a, resource, name: `not-${permission}`, permission }), DENIED, `${resource} ${permission} not-`);
    }
    // No such section or rule type: denied, logged once per kind.
    const odd: Array<[string, string]> = [
      ['connection', 'ping'],
      ['record', 'publish'],
      ['event', 'no-such-permission'],
      ['event', 'constructor'],
      ['constructor', 'read'],
    ];
    for (const [resource, permission] of odd) {
      assert.deepEqual(await decide({ session: a, resource, name: 'x', permission }), DENIED);
      assert.deepEqual(await decide({ session: a, resource, name: 'x', permission }), DENIED);
    }
    assert.equal(logs.filter((entry) => /no section and rule type/.test(entry.msg)).length, odd.length);
  });

  it('takes new rules on replace() and forgets cached selections', async () => {
    const { ask, valve } = setup({ event: { '*': { publish: false } } });
    assert.deepEqual(await ask(session('a'), emit('x')), DENIED);
    valve.replace(compileInlineRules({ record: { '*': { read: true } }, event: { '*': { publish: true } }, rpc: { '*': { request: true } }, presence: { '*': { allow: true } } }, LIMITS));
    assert.deepEqual(await ask(session('a'), emit('x')), ALLOWED);
  });
});

describe('valve: data and oldData', () => {
  it('event publish and rpc request: data is the decoded payload, undefined without one', async () => {
    const { ask, records } = setup({
      event: { '*': { publish: 'data > 10' }, 'none/*': { publish: 'data === undefined' } },
      rpc: { '*': { request: "typeof data.firstname === 'string' && typeof data.lastname === 'string'" } },
    });
    const a = session('a');
    assert.deepEqual(await ask(a, emit('number', 11)), ALLOWED);
    assert.deepEqual(await ask(a, emit('number', 9)), DENIED);
    assert.deepEqual(await ask(a, emit('none/x')), ALLOWED);
    const request = (data: unknown): Message => ({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'f', correlationId: '1', data: JSON.stringify(data) });
    assert.deepEqual(await ask(a, request({ firstname: 'Ada', lastname: 'Lovelace' })), ALLOWED);
    assert.deepEqual(await ask(a, request({ firstname: 'Ada' })), DENIED);
    assert.deepEqual(await ask(a, { ...emit('number'), data: '{not json' }), FAILED);
    assert.deepEqual(records.loads, [], 'nothing is loaded for events and rpc');
  });

  it('record UPDATE: data is the new record, oldData the stored one (null when missing)', async () => {
    const { ask, records } = setup({ record: { '*': { write: '!oldData || data.value > oldData.value', read: 'oldData === null' } } });
    records.set('counter', { value: 5 });
    const a = session('a');
    const update = (value: number, name = 'counter') => record(RECORD_ACTION.UPDATE, name, { version: 2, data: JSON.stringify({ value }) });
    assert.deepEqual(await ask(a, update(6)), ALLOWED);
    assert.deepEqual(await ask(a, update(4)), DENIED);
    assert.deepEqual(await ask(a, update(1, 'fresh')), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'fresh')), ALLOWED);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'counter')), DENIED);
  });

  it('record writes: data and oldData are the facts the records plugin supplies, never loaded again', async () => {
    const { ask, records } = setup({
      record: {
        '*': { write: 'data.profile.name.length <= 5 && oldData.profile.name !== undefined', delete: 'oldData.locked !== true', create: true },
      },
    });
    records.set('u', { profile: { name: 'Stored', age: 36 } }).set('locked', { locked: false });
    const a = session('a');
    const facts = (oldData: unknown, data: unknown): AuthorizationFacts => ({ oldData: () => oldData, data: () => data });
    const patch = record(RECORD_ACTION.PATCH, 'u', { version: 2, path: 'profile.name', data: '"x"' });
    assert.deepEqual(await ask(a, patch, 'u', undefined, facts({ profile: { name: 'Ada' } }, { profile: { name: 'Grace' } })), ALLOWED);
    assert.deepEqual(await ask(a, patch, 'u', undefined, facts({ profile: { name: 'Ada' } }, { profile: { name: 'Lovelace' } })), DENIED);
    // ERASE is a delete (upstream v10): decided by the delete rule on the oldData the facts give.
    const erase = record(RECORD_ACTION.ERASE, 'locked', { version: 2, path: 'locked' });
    assert.deepEqual(await ask(a, erase, 'locked', undefined, facts({ locked: true }, {})), DENIED);
    assert.deepEqual(await ask(a, erase, 'locked', undefined, facts({ locked: false }, {})), ALLOWED);
    assert.deepEqual(records.loads, [], 'facts are used as given: the stored record is not read');
  });

  it('a rule reading facts the feature does not offer sees undefined or null: the valve never computes them itself', async () => {
    const { decide } = setup({ record: { '*': { write: 'data.a === 1', read: 'oldData === null' } } });
    assert.deepEqual(await decide({ session: session('a'), resource: 'record', name: 'n', permission: 'write' }), FAILED, 'reading .a of undefined');
    assert.deepEqual(await decide({ session: session('a'), resource: 'record', name: 'n', permission: 'read' }), ALLOWED);
    assert.deepEqual(await decide({ session: session('a'), resource: 'record', name: 'n', permission: 'write', facts: { data: () => ({ a: 1 }) } }), ALLOWED);
  });

  it('loads the record once per check, and only when the rule reads it', async () => {
    const { ask, records } = setup({ record: { '*': { write: 'user.id === "a"', read: 'oldData !== null' }, 'both/*': { write: 'data.x === oldData.x + 1', read: true } } });
    records.set('both/1', { x: 1 });
    const a = session('a');
    await ask(a, record(RECORD_ACTION.UPDATE, 'r', { version: 2, data: '{"x":1}' }));
    await ask(a, record(RECORD_ACTION.READ, 'both/1'));
    assert.deepEqual(records.loads, []);
    assert.deepEqual(await ask(a, record(RECORD_ACTION.UPDATE, 'both/1', { version: 2, data: '{"x":2}' })), ALLOWED);
    assert.deepEqual(records.loads, ['both/1']);
  });

  it('fails the check when the facts or a record cannot be loaded, in time or at all, or nothing reads records', async () => {
    const { ask, records } = setup({ record: { '*': { read: 'oldData === null' }, 'x/*': { read: "_('other') === null" } } });
    records.failing.add('broken');
    records.hanging.add('slow');
    const a = session('a');
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'broken')), FAILED);
    const started = Date.now();
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'slow')), FAILED);
    assert.ok(Date.now() - started < 1000);
    const without = setup({ record: { '*': { read: "_('other') === null" } } }, null);
    assert.deepEqual(await without.decide({ session: a, resource: 'record', name: 'x', permission: 'read' }), FAILED);
    assert.match(String(without.logs[0]!.fields.reason), /no plugin provides the recordReader service/);
  });

  it('handles deeply nested payloads', async () => {
    const { ask } = setup({ event: { '*': { publish: 'data.a.a.a.a !== undefined' }, 'str/*': { publish: "data + '' !== ''" } } });
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    assert.deepEqual(await ask(session('a'), { ...emit('x'), data: deep }), ALLOWED);
    const deepArray = '['.repeat(200_000) + ']'.repeat(200_000);
    const verdict = await ask(session('a'), { ...emit('str/x'), data: deepArray });
    assert.equal(verdict.allowed, false);
  });
});

describe('valve: cross-references _()', () => {
  it('reads other records, null when missing; a property of a missing record is an error', async () => {
    const { ask, records } = setup({
      record: { '*': { read: true }, 'd/*': { read: "_('perm/JohnDoe').boolean", create: "_('perm/JohnDoe').boolean" } },
      event: { '*': { publish: "_('perm/missing') === null" }, 'flag/*': { publish: "_('perm/missing').flag" } },
    });
    const a = session('a');
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'd/1')), FAILED);
    records.set('perm/JohnDoe', { boolean: true });
    assert.deepEqual(await ask(a, record(RECORD_ACTION.READ, 'd/1')), ALLOWED);
    assert.deepEqual(await ask(a, emit('x')), ALLOWED);
    assert.deepEqual(await ask(a, emit('flag/x')), FAILED);
  });

  it('follows references driven by data, within maxRuleIterations runs', async () => {
    const { ask, records } = setup({
      record: { '*': { write: "_('item/' + data.itemId).stock > 0", create: true } },
      event: {
        '*': { publish: "_('a').next === 'b' && _('b').next === 'c'" },
        'three/*': { publish: "_('a').next === 'b' && _('b').next === 'c' && _('c').next === 'd'" },
      },
    });
    records.set('item/1', { stock: 2 }).set('item/2', { stock: 0 });
    records.set('a', { next: 'b' }).set('b', { next: 'c' }).set('c', { next: 'd' });
    const a = session('a');
    const buy = (itemId: number) => record(RECORD_ACTION.UPDATE, 'purchase/1', { version: 1, data: JSON.stringify({ itemId }) });
    assert.deepEqual(await ask(a, buy(1)), ALLOWED);
    assert.deepEqual(await ask(a, buy(2)), DENIED);
    assert.deepEqual(await ask(a, buy(3)), FAILED, 'a missing item: reading .stock of null');
    records.loads.length = 0;
    assert.deepEqual(await ask(a, emit('two')), ALLOWED);
    assert.deepEqual(records.loads, ['a', 'b']);
    records.loads.length = 0;
    assert.deepEqual(await ask(a, emit('three/x')), FAILED, 'three references need four runs');
    assert.deepEqual(records.loads, ['a', 'b'], 'no more than maxRuleIterations - 1 loads');
  });

  it('does not load names containing "undefined" (the reference quirk) and fails on non-string names', async () => {
    const { ask, records } = setup({ event: { '*': { publish: "_('x/' + data.id) === undefined" }, 'num/*': { publish: '_(data.id) === null' } } });
    assert.deepEqual(await ask(session('a'), emit('e', {})), ALLOWED);
    assert.deepEqual(records.loads, []);
    assert.deepEqual(await ask(session('a'), emit('num/e', { id: 5 })), FAILED);
  });
});
