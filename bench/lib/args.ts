/**
 * The one option parser of the benchmark scripts: `--name value` (or `--name` for a flag), else the
 * environment variable the script names for it, else the default. Values are checked on the way.
 */
import { parseArgs } from 'node:util';

/** Option name → its environment variable ('' for none), or `true` for a flag. */
export type OptionSpec = Record<string, string | true>;

export function cli<S extends OptionSpec>(spec: S) {
  type Name = keyof S & string;
  const { values, positionals } = parseArgs({
    options: Object.fromEntries(Object.entries(spec).map(([name, v]) => [name, { type: v === true ? 'boolean' : 'string' }] as const)),
    allowPositionals: true,
  });
  const env = (name: Name) => (typeof spec[name] === 'string' && spec[name] !== '' ? (spec[name] as string) : undefined);
  const where = (name: Name) => `--${name}${env(name) === undefined ? '' : ` / ${env(name)}`}`;
  const raw = (name: Name): string | undefined => (values[name] as string | undefined) ?? (env(name) === undefined ? undefined : process.env[env(name)!]);
  const check = (name: Name, text: string, min: number, max: number, integer: boolean): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(`${where(name)}: expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got "${text}"`);
    }
    return n;
  };
  const list = (name: Name, fallback: string) =>
    (raw(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return {
    positionals,
    given: (name: Name) => raw(name) !== undefined,
    flag: (name: Name) => values[name] === true,
    text: (name: Name, fallback: string) => raw(name) ?? fallback,
    /** A number in min..max (an integer with `integer`). */
    num: (name: Name, fallback: number, min = 0, max = Infinity, integer = false) => check(name, raw(name) ?? String(fallback), min, max, integer),
    int: (name: Name, fallback: number, min = 0, max = Infinity) => check(name, raw(name) ?? String(fallback), min, max, true),
    list,
    /** A comma-separated list of integers in min..max. */
    ints: (name: Name, fallback: string, min = 1, max = Infinity) => list(name, fallback).map((s) => check(name, s, min, max, true)),
    /** A comma-separated list of known words. */
    words: <T extends string>(name: Name, fallback: string, known: readonly T[]): T[] =>
      list(name, fallback).map((s) => {
        if (!(known as readonly string[]).includes(s)) throw new Error(`${where(name)}: unknown "${s}" (known: ${known.join(', ')})`);
        return s as T;
      }),
  };
}
