/**
 * Splits a rule expression into tokens. Only the JavaScript subset the rule language accepts is
 * recognised; anything else is refused here with a reason naming what was found and where.
 */
export type Token =
  | { readonly kind: 'number'; readonly value: number; readonly pos: number }
  | { readonly kind: 'string'; readonly value: string; readonly pos: number }
  | { readonly kind: 'regex'; readonly value: RegExp; readonly pos: number }
  | { readonly kind: 'identifier'; readonly value: string; readonly pos: number }
  | { readonly kind: 'punct'; readonly value: string; readonly pos: number }
  | { readonly kind: 'end'; readonly pos: number };

/** A rule the language refuses, with the character offset it was found at. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** Longest first, so that `===` is never read as `==` then `=`. */
const PUNCTUATORS = ['===', '!==', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.', ',', '(', ')', '[', ']'];

/** Operators JavaScript has and the rule language does not, with why. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['=>', 'functions cannot be defined in rules'],
  ['>>>=', 'assignment is not allowed'],
  ['**=', 'assignment is not allowed'],
  ['&&=', 'assignment is not allowed'],
  ['||=', 'assignment is not allowed'],
  ['??=', 'assignment is not allowed'],
  ['<<=', 'assignment is not allowed'],
  ['>>=', 'assignment is not allowed'],
  ['++', 'increment is not allowed'],
  ['--', 'decrement is not allowed'],
  ['+=', 'assignment is not allowed'],
  ['-=', 'assignment is not allowed'],
  ['*=', 'assignment is not allowed'],
  ['/=', 'assignment is not allowed'],
  ['%=', 'assignment is not allowed'],
  ['**', 'the operator ** is not allowed'],
  ['...', 'spread is not allowed'],
  ['{', 'object literals and blocks are not allowed'],
  ['}', 'object literals and blocks are not allowed'],
  ['`', 'template literals are not allowed'],
  [';', 'a rule is a single expression: ";" is not allowed'],
  ['#', 'private names are not allowed'],
  ['@', 'decorators are not allowed'],
  ['\\', 'escapes outside strings are not allowed'],
];

/** JavaScript words that have no place in a rule, with why. */
const REFUSED_WORDS: ReadonlyMap<string, string> = new Map(Object.entries({
  new: 'the keyword "new" is not allowed',
  function: 'functions cannot be defined in rules',
  class: 'classes cannot be defined in rules',
  this: '"this" is not available in rules',
  import: '"import" is not available in rules',
  delete: 'the operator "delete" is not allowed',
  void: 'the operator "void" is not allowed',
  in: 'the operator "in" is not allowed',
  instanceof: 'the operator "instanceof" is not allowed',
  yield: '"yield" is not allowed',
  await: '"await" is not allowed',
  async: 'functions cannot be defined in rules',
  super: '"super" is not available in rules',
  arguments: '"arguments" is not available in rules',
  var: 'a rule is a single expression: declarations are not allowed',
  let: 'a rule is a single expression: declarations are not allowed',
  const: 'a rule is a single expression: declarations are not allowed',
  return: 'a rule is a single expression: "return" is not allowed',
  if: 'a rule is a single expression: use "a ? b : c" instead of "if"',
  else: 'a rule is a single expression: use "a ? b : c" instead of "else"',
  for: 'loops are not allowed',
  while: 'loops are not allowed',
  do: 'loops are not allowed',
  switch: 'a rule is a single expression: "switch" is not allowed',
  throw: '"throw" is not allowed',
  try: '"try" is not allowed',
  with: '"with" is not allowed',
  debugger: '"debugger" is not allowed',
  export: '"export" is not allowed',
}));

/** Bit operators: not in the language. Two-character ones first; `&` and `|` only when not doubled. */
const BITWISE = ['<<', '>>', '&', '|', '^', '~'];

/** Flags a regex literal may carry. `y` and `g` keep state between runs (`lastIndex`), so they are refused. */
const REGEX_FLAGS = /^[imsu]*$/;

const isIdentifierStart = (c: string) => /[A-Za-z_$]/.test(c);
const isIdentifierPart = (c: string) => /[A-Za-z0-9_$]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  // A `/` starts a regex literal only where an operand may start (not after a value).
  const operandExpected = (): boolean => {
    const last = tokens[tokens.length - 1];
    if (last === undefined) return true;
    if (last.kind === 'punct') return last.value !== ')' && last.value !== ']';
    return last.kind === 'identifier' && last.value === 'typeof';
  };
  const afterDot = (): boolean => {
    const last = tokens[tokens.length - 1];
    return last !== undefined && last.kind === 'punct' && (last.value === '.' || last.value === '?.');
  };

  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdentifierStart(c)) {
      while (i < text.length && isIdentifierPart(text[i]!)) i++;
      const word = text.slice(start, i);
      // Refused here, before the rest is read: `function () {}` is about the function, not the
      // brace. After a dot they are property names (`data.class`), as in JavaScript.
      const refusedWord = REFUSED_WORDS.get(word);
      if (refusedWord !== undefined && !afterDot()) throw new ExpressionError(refusedWord, start);
      tokens.push({ kind: 'identifier', value: word, pos: start });
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      const match = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))!;
      i += match[0].length;
      if (i < text.length && isIdentifierPart(text[i]!)) throw new ExpressionError(`malformed number "${text.slice(start, i + 1)}"`, start);
      tokens.push({ kind: 'number', value: Number(match[0]), pos: start });
      continue;
    }
    if (c === '"' || c === "'") {
      const [value, end] = readString(text, i);
      tokens.push({ kind: 'string', value, pos: start });
      i = end;
      continue;
    }
    if (c === '/' && operandExpected()) {
      const [value, end] = readRegex(text, i);
      tokens.push({ kind: 'regex', value, pos: start });
      i = end;
      continue;
    }
    const refused = REFUSED.find(([op]) => text.startsWith(op, i));
    if (refused !== undefined) throw new ExpressionError(`${refused[1]} (found "${refused[0]}")`, start);
    const bitwise = BITWISE.find((op) => text.startsWith(op, i) && !((op === '&' || op === '|') && text[i + 1] === op));
    if (bitwise !== undefined) throw new ExpressionError(`bitwise operators are not allowed (found "${bitwise}")`, start);
    // `a ?.5 : b` is a conditional, not optional chaining.
    const punct = PUNCTUATORS.find((op) => text.startsWith(op, i) && !(op === '?.' && isDigit(text[i + 2])));
    if (punct !== undefined) {
      tokens.push({ kind: 'punct', value: punct, pos: start });
      i += punct.length;
      continue;
    }
    if (c === '=') throw new ExpressionError('assignment is not allowed (found "="); compare with "==="', start);
    throw new ExpressionError(`unexpected character "${c}"`, start);
  }
  tokens.push({ kind: 'end', pos: text.length });
  return tokens;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' };

function readString(text: string, start: number): [string, number] {
  const quote = text[start]!;
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\n' || c === '\r') break;
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) break;
    if (next === 'u' || next === 'x') {
      const digits = next === 'u' ? 4 : 2;
      const hex = text.slice(i + 2, i + 2 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new ExpressionError(`malformed escape "\\${next}${hex}"`, i);
      value += String.fromCharCode(parseInt(hex, 16));
      i += 2 + digits;
      continue;
    }
    value += SIMPLE_ESCAPES[next] ?? next;
    i += 2;
  }
  throw new ExpressionError('unterminated string', start);
}

function readRegex(text: string, start: number): [RegExp, number] {
  let i = start + 1;
  let inClass = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n' || c === '\r') break;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      const source = text.slice(start + 1, i);
      let end = i + 1;
      while (end < text.length && isIdentifierPart(text[end]!)) end++;
      const flags = text.slice(i + 1, end);
      if (source === '') throw new ExpressionError('empty regular expression', start);
      if (!REGEX_FLAGS.test(flags)) throw new ExpressionError(`regular expression flags "${flags}" are not allowed (only i, m, s, u)`, i + 1);
      try {
        return [new RegExp(source, flags), end];
      } catch (error) {
        throw new ExpressionError(`invalid regular expression: ${(error as Error).message}`, start);
      }
    }
    i++;
  }
  throw new ExpressionError('unterminated regular expression', start);
}
