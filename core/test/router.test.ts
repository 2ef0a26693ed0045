/** The router as the one authorization door (SECURITY §3, PROTOCOL §5.4), without sockets. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHooks, type AuthorizationRequest } from '../src/hooks.ts';
import { PermissionGate, type Admission, type TopicAccess } from '../src/permissions.ts';
import { Router } from '../src/router.ts';
import { EVENT_ACTION, PRESENCE_ACTION, TOPIC, type Message } from '../src/protocol/messages.ts';
import type { Session } from '../src/session/session.ts';
import { startTestServer } from '../src/testing.ts';
import { definePlugin } from '../src/plugins/manifest.ts';
import { isDeepstreamError } from '../src/errors.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function fakeSession(): Session & { sent: Message[] } {
  const sent: Message[] = [];
  return { sent, send: (m: Message) => void sent.push(m), isClosed: false } as unknown as Session & { sent: Message[] };
}

function setup(access: TopicAccess) {
  const hooks = createHooks(() => undefined);
  const router = new Router(new PermissionGate(hooks), () => undefined);
  const handled: Array<{ message: Message; admission: Admission | undefined }> = [];
  router.claim(TOPIC.EVENT, 'events', (_session, message, admission) => void handled.push({ message, admission }), access);
  return { hooks, router, handled };
}

const EVENTS: TopicAccess = { resource: 'event', bulk: [EVENT_ACTION.SUBSCRIBE], permissions: { [EVENT_ACTION.EMIT]: 'publish', [EVENT_ACTION.SUBSCRIBE]: 'subscribe' } };

describe('router: the authorization door', () => {
  it('without a permission plugin runs the handler at once, with nothing checked', () => {
    const { router, handled } = setup(EVENTS);
    router.route(fakeSession(), { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'x' });
    assert.equal(handled.length, 1, 'synchronously');
    assert.equal(handled[0]!.admission, undefined);
  });

  it('asks resource, name, permission and the user; the handler sees the facts it was judged with', async () => {
    const { hooks, router, handled } = setup({ ...EVENTS, facts: () => ({ data: () => 42 }) });
    const asked: AuthorizationRequest[] = [];
    hooks.authorize.tap('guard', (request) => void asked.push(request));
    const session = fakeSession();
    router.route(session, { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'x' });
    assert.equal(handled.length, 0, 'not before the check');
    await tick();
    assert.deepEqual(asked.map(({ resource, name, permission, action }) => ({ resource, name, permission, action })), [{ resource: 'event', name: 'x', permission: 'publish', action: EVENT_ACTION.EMIT }]);
    assert.equal(asked[0]!.session, session);
    assert.equal(asked[0]!.facts?.data?.(), 42);
    assert.equal(handled[0]!.admission?.facts, asked[0]!.facts);
  });

  it('bulk: each name on its own, a denial per denied name, the handler gets the rest', async () => {
    const { hooks, router, handled } = setup(EVENTS);
    hooks.authorize.tap('guard', ({ name }) => (name.startsWith('secret/') ? { allowed: false } : undefined));
    const session = fakeSession();
    router.route(session, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['a', 'secret/1', 'b', 'secret/2'], correlationId: 'c' });
    await tick();
    assert.deepEqual(session.sent.map((m) => [m.action, m.name]), [
      [EVENT_ACTION.MESSAGE_DENIED, 'secret/1'],
      [EVENT_ACTION.MESSAGE_DENIED, 'secret/2'],
    ]);
    assert.deepEqual(handled[0]!.message.names, ['a', 'b']);
    assert.equal(handled[0]!.admission?.denied, 2);
  });

  it('a denied request reaches no handler, its facts are released, a nameless one is denied without a name', async () => {
    const released: unknown[] = [];
    const facts = { data: () => 1 };
    const hooks = createHooks(() => undefined);
    const router = new Router(new PermissionGate(hooks), () => undefined);
    let handled = 0;
    router.claim(TOPIC.PRESENCE, 'presence', () => void handled++, {
      resource: 'presence',
      nameless: 'undefined',
      permissions: { [PRESENCE_ACTION.QUERY_ALL]: 'allow' },
      facts: () => facts,
      release: (f) => void released.push(f),
    });
    const asked: string[] = [];
    hooks.authorize.tap('guard', ({ name }) => (asked.push(name), { allowed: false, error: true }));
    const session = fakeSession();
    router.route(session, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL });
    await tick();
    assert.equal(handled, 0);
    assert.deepEqual(released, [facts]);
    assert.deepEqual(asked, ['undefined']);
    assert.equal(session.sent[0]!.action, PRESENCE_ACTION.MESSAGE_PERMISSION_ERROR);
    assert.equal('name' in session.sent[0]!, false);
  });

  it('ordered: a message that needs no check waits for the ones of its session being checked', async () => {
    const { hooks, router, handled } = setup({ ...EVENTS, ordered: true });
    hooks.authorize.tapPromise('slow', () => new Promise((resolve) => setTimeout(() => resolve(undefined), 20)));
    const session = fakeSession();
    router.route(session, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['a'] });
    router.route(session, { topic: TOPIC.EVENT, action: EVENT_ACTION.UNSUBSCRIBE, names: ['a'] });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(handled.map((h) => h.message.action), [EVENT_ACTION.SUBSCRIBE, EVENT_ACTION.UNSUBSCRIBE]);
  });
});

describe('plugins written for the old authorization API', () => {
  for (const [what, call] of [
    ['ctx.authorize(session, message, name)', (ctx: { authorize: Function }) => ctx.authorize({}, { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT }, 'x')],
    ['ctx.permittedNames(session, message)', (ctx: object) => (ctx as { permittedNames: Function }).permittedNames({}, { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE })],
  ] as const) {
    it(`fail at start with DS_PLUGIN_API_REMOVED: ${what}`, async () => {
      const old = definePlugin({ name: 'old-style', version: '1.0.0', kernel: '^0.1.0', setup: (ctx) => void call(ctx as never) });
      await assert.rejects(startTestServer({ plugins: [old] }), (error: unknown) => {
        const chain = [error, (error as { cause?: unknown }).cause];
        return chain.some((e) => isDeepstreamError(e, 'DS_PLUGIN_API_REMOVED')) || /DS_PLUGIN_API_REMOVED/.test(String((error as Error).message));
      });
    });
  }
});
