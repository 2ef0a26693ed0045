/** The login backoff table on a hand-driven clock: thresholds, doubling, forgiveness, the LRU bound. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoginBackoff } from '../src/session/login-backoff.ts';
import { resolveConfig } from '../src/config/options.ts';

const timing = { window: 60_000, baseDelay: 1_000, maxDelay: 8_000, maxTrackedKeys: 100 };

/** Records `count` failures for `key` at `now`, returning the last outcome. */
function fail(table: LoginBackoff, key: string, now: number, count = 1) {
  let outcome = { blockedFor: 0, firstBlock: false };
  for (let i = 0; i < count; i++) outcome = table.recordFailure(key, now);
  return outcome;
}

describe('LoginBackoff', () => {
  it('blocks only once `failures` failures fall within the window', () => {
    const table = new LoginBackoff(3, timing);
    assert.deepEqual(fail(table, 'ann', 0, 2), { blockedFor: 0, firstBlock: false });
    assert.equal(table.blockedFor('ann', 0), 0);
    assert.deepEqual(fail(table, 'ann', 10), { blockedFor: 1_000, firstBlock: true });
    assert.equal(table.blockedFor('ann', 10), 1_000);
    assert.equal(table.blockedFor('ann', 500), 510);
    assert.equal(table.blockedFor('ann', 1_010), 0, 'the block ends');
    assert.equal(table.blockedFor('bob', 10), 0, 'other keys are not affected');
  });

  it('doubles each further block up to maxDelay, warning only on the first', () => {
    const table = new LoginBackoff(2, timing);
    let now = 0;
    const delays: number[] = [];
    const firsts: boolean[] = [];
    fail(table, 'ann', now);
    for (let i = 0; i < 6; i++) {
      const outcome = fail(table, 'ann', now);
      delays.push(outcome.blockedFor);
      firsts.push(outcome.firstBlock);
      now += outcome.blockedFor; // the attacker waits out each block, then guesses once
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    assert.deepEqual(firsts, [true, false, false, false, false, false]);
  });

  it('starts a fresh window when failures are spread out, and forgives a key quiet for a window', () => {
    const table = new LoginBackoff(3, timing);
    fail(table, 'ann', 0);
    fail(table, 'ann', 30_000);
    assert.equal(fail(table, 'ann', 60_000).blockedFor, 0, 'the window that began at 0 is over: counting starts again');
    fail(table, 'ann', 60_001);
    assert.equal(fail(table, 'ann', 60_002).blockedFor, 1_000, 'three within the new window');
    // Quiet for a whole window after the block: the next failure is counted from scratch.
    assert.deepEqual(fail(table, 'ann', 60_002 + 60_000), { blockedFor: 0, firstBlock: false });
  });

  it('forgets a key on clear (a successful login)', () => {
    const table = new LoginBackoff(2, timing);
    fail(table, 'ann', 0, 2);
    assert.ok(table.blockedFor('ann', 1) > 0);
    table.clear('ann');
    assert.equal(table.blockedFor('ann', 1), 0);
    assert.equal(fail(table, 'ann', 2).blockedFor, 0);
  });

  it('remembers at most maxTrackedKeys keys, forgetting the least recently failed', () => {
    const table = new LoginBackoff(2, { ...timing, maxTrackedKeys: 3 });
    fail(table, 'a', 0);
    fail(table, 'b', 0);
    fail(table, 'c', 0);
    fail(table, 'a', 1); // 'a' is now the most recent: 'b' goes first
    fail(table, 'd', 2);
    assert.equal(table.size, 3);
    assert.equal(fail(table, 'b', 3).blockedFor, 0, "'b' was forgotten: its earlier failure no longer counts");
    assert.equal(table.size, 3);
    for (let i = 0; i < 10_000; i++) fail(table, `k${i}`, 4);
    assert.equal(table.size, 3);
  });
});

describe('connection.loginBackoff and maxUnauthenticatedPerAddress options', () => {
  const resolve = (connection: object) => resolveConfig({ connection } as never, { env: {} });

  it('has defaults that never bother a legitimate user, and merges a partial object into them', () => {
    const defaults = resolve({}).connection;
    assert.deepEqual(defaults.loginBackoff, { failuresPerUsername: 10, failuresPerAddress: 100, window: 60_000, baseDelay: 1_000, maxDelay: 60_000, maxTrackedKeys: 10_000 });
    assert.equal(defaults.maxUnauthenticatedPerAddress, 1_000);
    assert.deepEqual(resolve({ loginBackoff: { failuresPerUsername: 3 } }).connection.loginBackoff, { ...defaults.loginBackoff as object, failuresPerUsername: 3 });
    assert.equal(resolve({ loginBackoff: false, maxUnauthenticatedPerAddress: false }).connection.loginBackoff, false);
  });

  for (const [connection, message] of [
    [{ loginBackoff: true }, /loginBackoff must be false or an object/],
    [{ loginBackoff: { failures: 3 } }, /unknown key "connection.loginBackoff.failures"/],
    [{ loginBackoff: { failuresPerAddress: 0 } }, /failuresPerAddress must be a positive integer, got 0/],
    [{ loginBackoff: { maxTrackedKeys: 1.5 } }, /maxTrackedKeys must be a positive integer/],
    [{ loginBackoff: { window: -1 } }, /window must be a positive number/],
    [{ loginBackoff: { baseDelay: 5_000, maxDelay: 1_000 } }, /maxDelay must be at least baseDelay/],
    [{ maxUnauthenticatedPerAddress: 0 }, /maxUnauthenticatedPerAddress must be false or a positive integer, got 0/],
    [{ maxUnauthenticatedPerAddress: '10' }, /maxUnauthenticatedPerAddress must be false or a positive integer, got "10"/],
  ] as const) {
    it(`refuses ${JSON.stringify(connection)}`, () => {
      assert.throws(() => resolve(connection), (error: Error & { code?: string }) => error.code === 'DS_CONFIG_INVALID' && message.test(error.message));
    });
  }
});
