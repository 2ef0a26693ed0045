/**
 * The events plugin checks emit payloads with a scan instead of JSON.parse (validatePayloads): the
 * scan must accept exactly what JSON.parse accepts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isJson, scanJson } from '../src/events-service.ts';

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

let seed = 0x9e3779b9;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

function value(depth: number): unknown {
  const r = random();
  if (depth > 4 || r < 0.35) return pick([0, -0, 1, -12, 3.25, 1e21, -1.5e-7, 123456789012, true, false, null, '', 'abc', 'é', '\u2028', '"q"', '\\', '\ud83d\ude00', '\ud800', '\u0001']);
  if (r < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [pick(['a', 'b c', '', '__proto__', `k${i}`, '\n']), value(depth + 1)]));
}

const NOISE = ['{', '}', '[', ']', '"', ':', ',', ' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\\', '\\u', '\\u00', '\\x', '\\/', '\\b', '0', '1', '-', '+', '.', 'e', 'E', 'true', 'tru', 'null', 'nul', 'false', 'NaN', 'Infinity', '\u0000', '\u001f', '\ud800', "'", 'x'];

function mutate(text: string): string {
  const at = Math.floor(random() * (text.length + 1));
  const r = random();
  if (r < 0.33) return text.slice(0, at) + pick(NOISE) + text.slice(at);
  if (r < 0.66) return text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3));
  return text.slice(0, at) + pick(NOISE) + text.slice(at + 1);
}

describe('emit payload JSON check', () => {
  it('agrees with JSON.parse on valid documents, their mutations and noise', () => {
    const cases = [
      '', ' ', '0', '-0', '01', '-', '1.', '.5', '1e', '1e+', '1E-2', '-01', '00', '"', '"\\"', '"\\u12"', '"\\u12G4"', '"\\uABCD"',
      '[', ']', '[]', '[,]', '[1,]', '[1 2]', '{}', '{"a"}', '{"a":}', '{"a":1,}', '{,}', '{"a":1 "b":2}', '{1:2}', 'true ', ' null',
      'nulll', 'tRue', '[[[[[]]]]]', '[[[[[]]]]', '{"a":[{"b":{}}]}', '"\t"', '"\u007f"', '\u00a0 1', '1 \n\r\t', '1 2', '"a" "b"',
      '['.repeat(10000) + ']'.repeat(10000), '['.repeat(10000) + ']'.repeat(9999),
    ];
    for (let i = 0; i < 4000; i++) {
      const text = random() < 0.5 ? JSON.stringify(value(0)) : JSON.stringify(value(0), null, pick([1, 2, '\t']));
      cases.push(text);
      let mutated = text;
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
        mutated = mutate(mutated);
        cases.push(mutated);
      }
    }
    for (let i = 0; i < 4000; i++) cases.push(Array.from({ length: Math.floor(random() * 12) }, () => pick(NOISE)).join(''));
    for (const text of cases) {
      const expected = parses(text);
      assert.equal(scanJson(text), expected, `scanJson(${JSON.stringify(text.slice(0, 200))})`);
      assert.equal(isJson(text), expected);
    }
  });
});
