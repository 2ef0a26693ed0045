/**
 * The listen-pattern guard (README: Safety): a table of patterns known to backtrack
 * catastrophically (refused, with the reason), and the worst shapes it accepts, run against
 * adversarial names of the assumed maximum length, which must match within a few milliseconds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ASSUMED_NAME_LENGTH, backtrackingRisk, compilePattern } from '../src/patterns.ts';

const LIMITS = { maxPatternLength: 256 };
const n = ASSUMED_NAME_LENGTH;

describe('listen pattern guard', () => {
  const evil: Array<[string, RegExp]> = [
    ['.*.*.*.*.*.*.*.*!', /could backtrack/], // the reported attack: polynomial, degree 9
    ['a.*b.*c', /could backtrack/], // n³ unanchored
    ['^a*a*a*b', /could backtrack/],
    ['x{0,1000}y{0,1000}z', /could backtrack/],
    ['[^/]*[^/]*/', /could backtrack/], // the same set twice in a row
    ['^a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaaaaaaaaaaaaaa', /could backtrack/], // 2^24
    ['(a+)+$', /nested quantifiers/],
    ['(x|x)*y', /nested quantifiers/],
    ['(a|aa)+$', /nested quantifiers/],
    ['(.*a){20}', /nested quantifiers/],
    ['(?:a?b?)*c', /nested quantifiers/],
    ['(a)\\1', /back-references/],
    ['(?<x>a)\\k<x>', /back-references/],
    ['(?=a*)a*b', /lookahead and lookbehind/],
    ['(?<!a+)b', /lookahead and lookbehind/],
    ['p'.repeat(300), /maxPatternLength \(256\)/],
  ];
  for (const [pattern, reason] of evil) {
    it(`refuses ${pattern.slice(0, 40)}`, () => {
      const compiled = compilePattern(pattern, LIMITS);
      assert.equal(typeof compiled, 'string');
      assert.match(compiled as string, reason);
    });
  }

  it('accepts the patterns providers write', () => {
    for (const pattern of ['^stock/.*', 'prices/', 'a+b+', '(ab)+', '^(users|groups)/[^/]+$', '[(+)]+', '^chat/[^/]+/messages/.*$', '^users/[^/]+/posts/[^/]+/comments/[^/]+$', '\\d+\\.\\d+', '[]a]b']) {
      assert.equal(backtrackingRisk(pattern), undefined, pattern);
    }
  });

  it('the worst accepted shapes match any adversarial name of the maximum length within a few ms', () => {
    const worst = ['a.*b', 'a+b+c', '^a.*b.*c', '.*a', 'a{0,1000}b', '[a-z]+a', '[^/]+/[^/]+/[^/]+/[^/]+/x', '^.*.*!', '(ab)*c', 'stock/.*/price/.*'];
    const names = ['a'.repeat(n), `a${'b'.repeat(n - 1)}`, 'ab'.repeat(n / 2), '/'.repeat(n), 'a/'.repeat(n / 2), `${'x'.repeat(n - 1)}!`, 'aaa/'.repeat(n / 4), 'stock/'.repeat(170)];
    for (const pattern of worst) {
      const regex = compilePattern(pattern, LIMITS);
      assert.ok(regex instanceof RegExp, `${pattern} is accepted`);
      regex.test(names[0]!); // compiled and warmed up before timing
      for (const name of names) {
        const start = performance.now();
        regex.test(name);
        const took = performance.now() - start;
        assert.ok(took < 25, `${pattern} against ${name.slice(0, 12)}… took ${took.toFixed(1)} ms`);
      }
    }
  });
});
