import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, type HookFailure } from '@deepstream-ts/core';
import { createHooks } from '../src/hooks.ts';
import { SubscriptionRegistry } from '../src/util/subscriptions.ts';
import type { Session } from '../src/session/session.ts';

describe('the hook table', () => {
  it('is frozen: plugins cannot add or replace hooks', () => {
    const hooks = createHooks(() => undefined);
    assert.ok(Object.isFrozen(hooks));
    assert.throws(() => {
      (hooks as unknown as Record<string, unknown>).connection = null;
    }, TypeError);
  });

  it('reports a throwing sync tap with plugin and hook names, and runs the other taps', () => {
    const failures: HookFailure[] = [];
    const hooks = createHooks((failure) => failures.push(failure));
    const seen: string[] = [];
    hooks.disconnect.tap('broken-plugin', () => {
      throw new Error('boom');
    });
    hooks.disconnect.tap('healthy-plugin', () => void seen.push('healthy'));
    hooks.disconnect.call({} as Session);
    assert.deepEqual(seen, ['healthy']);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.plugin, 'broken-plugin');
    assert.equal(failures[0]!.hook, 'disconnect');
    assert.equal(failures[0]!.error.code, 'DS_HOOK_TAP_FAILED');
    assert.match(failures[0]!.error.message, /plugin "broken-plugin" threw in hook "disconnect": boom/);
  });

  it('lets the next authentication strategy answer when one rejects', async () => {
    const failures: HookFailure[] = [];
    const hooks = createHooks((failure) => failures.push(failure));
    hooks.authenticate.tapPromise('flaky-auth', async () => {
      throw new Error('webhook down');
    });
    hooks.authenticate.tap('fallback-auth', () => ({ isValid: true, id: 'u' }));
    const result = await hooks.authenticate.promise({ authData: {}, connection: { transport: 't', remoteAddress: 'x', headers: {} } });
    assert.deepEqual(result, { isValid: true, id: 'u' });
    assert.equal(failures[0]?.plugin, 'flaky-auth');
  });

  it('fails closed when a permission tap throws', async () => {
    const hooks = createHooks(() => undefined);
    hooks.authorize.tap('broken-valve', () => {
      throw new Error('bad rule');
    });
    hooks.authorize.tap('allow-all', () => ({ allowed: true }));
    const verdict = await hooks.authorize.promise({ session: {} as Session, resource: 'event', name: 'x', permission: 'publish' });
    assert.deepEqual(verdict, { allowed: false, error: true });
  });

  it('never loops when an error tap itself throws', () => {
    const failures: HookFailure[] = [];
    const hooks = createHooks((failure) => {
      failures.push(failure);
      hooks.error.call(failure);
    });
    hooks.error.tap('bad-metrics', () => {
      throw new Error('again');
    });
    hooks.connection.tap('bad-plugin', () => {
      throw new Error('once');
    });
    hooks.connection.call({} as Session);
    assert.equal(failures.length, 1);
  });
});

describe('the subscription registry', () => {
  const session = (id: string) => ({ id }) as unknown as Session;

  it('tracks both directions and tells observers about first and last subscribers', () => {
    const registry = new SubscriptionRegistry();
    const changes: string[] = [];
    registry.observe({ onFirstSubscriber: (n) => changes.push(`+${n}`), onLastSubscriber: (n) => changes.push(`-${n}`) });
    const [a, b] = [session('a'), session('b')];
    assert.equal(registry.subscribe('x', a), true);
    assert.equal(registry.subscribe('x', a), false);
    registry.subscribe('x', b);
    registry.subscribe('y', a);
    assert.deepEqual([...registry.subscribers('x')], [a, b]);
    assert.deepEqual(registry.removeSession(a).sort(), ['x', 'y']);
    assert.equal(registry.unsubscribe('x', a), false);
    assert.equal(registry.unsubscribe('x', b), true);
    assert.deepEqual([...registry.names()], []);
    assert.deepEqual(changes, ['+x', '+y', '-y', '-x']);
  });
});

describe('error codes', () => {
  it('are all documented in the table in core/README.md', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `(DS_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
  });
});

describe('hook use', () => {
  it('counts a hook as used only once a plugin taps it, so hot paths can skip it', () => {
    const hooks = createHooks(() => undefined);
    assert.equal(hooks.outbound.isUsed(), false);
    assert.equal(hooks.authorize.isUsed(), false);
    hooks.outbound.tap('metrics', () => undefined);
    assert.equal(hooks.outbound.isUsed(), true);
  });
});
