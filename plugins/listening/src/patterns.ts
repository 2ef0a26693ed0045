/**
 * Listen patterns are JavaScript regular expressions, unanchored (RECORDS §11.1). A pattern runs
 * against every subscribed name, on the server's only thread, so a pattern is accepted only when
 * the work of matching it against any name of the assumed maximum length is provably small.
 *
 * Why not a library: safe-regex checks star height only and accepts `.*.*.*.*!`, the polynomial
 * attack this guards against; recheck and redos-detector analyse more shapes but cost milliseconds
 * to seconds per pattern (recheck spawns a process or loads a Scala.js build). The subset of
 * syntax a listen pattern needs is small, so the bound below is computed on it directly.
 *
 * The bound. With star height 1 (no quantified group contains a quantifier or an alternation), no
 * back-references and no lookarounds, a backtracking matcher's search tree for one start position
 * has at most `paths` leaves, computed bottom-up: a sequence multiplies its terms, an alternation
 * adds its branches, a quantifier contributes its number of possible iteration counts (at most
 * `n + 1` for a name of length `n`), a quantifier with nothing after it in the whole pattern
 * contributes 1 (the match succeeds as soon as it is reached), and a repetition of a set that
 * cannot contain the literal character after it (`[^/]+/`) adds n + 1 one-step failures instead
 * of multiplying. Every step of the matcher either ends in a leaf or is undone on the way back to
 * one, so the work is proportional to the leaves. An unanchored pattern is tried at
 * up to `n + 1` start positions. Patterns whose `starts × paths` exceeds `MAX_PATHS` for
 * `n = ASSUMED_NAME_LENGTH` are refused: the worst accepted pattern is about n² steps (≈1 ms).
 */
export interface PatternLimits {
  /** Longest pattern accepted, in characters. */
  maxPatternLength: number;
}

/** The name length the bound is computed for: the default `maxNameLength` of records and events. */
export const ASSUMED_NAME_LENGTH = 1024;
/** Backtracking paths allowed per name: a few times n², e.g. `a.*b` unanchored, or `^a.*b.*c`; about 1 ms. */
export const MAX_PATHS = 8 * (ASSUMED_NAME_LENGTH + 1) ** 2;

/** A compiled pattern, or the reason it is refused. */
export function compilePattern(pattern: string, limits: PatternLimits): RegExp | string {
  if (pattern === '') return 'the pattern is empty';
  if (pattern.length > limits.maxPatternLength) return `the pattern is longer than maxPatternLength (${limits.maxPatternLength}) characters`;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  const risk = backtrackingRisk(pattern);
  return risk === undefined ? regex : risk;
}

/** Why matching `pattern` could take more than a bounded time, or undefined when it cannot. */
export function backtrackingRisk(pattern: string): string | undefined {
  try {
    const tree = new Parser(pattern).parse();
    const n = ASSUMED_NAME_LENGTH + 1;
    const starts = anchoredAtStart(tree) ? 1 : n;
    const total = starts * paths(tree, true);
    if (total > MAX_PATHS) {
      const ways = total > 1e15 ? 'more than 1e15' : String(Math.round(total));
      return `the pattern could backtrack ${ways} ways on a ${ASSUMED_NAME_LENGTH}-character name, more than the limit of ${MAX_PATHS}: too many repetitions (.*, +, {m,n}) before its end; anchor it with ^ or use fewer`;
    }
    return undefined;
  } catch (error) {
    if (error instanceof Refused) return error.message;
    throw error;
  }
}

// ---- a small parser for the structure of a (valid) JavaScript pattern -------------------------

class Refused extends Error {}

type Node = Alternation | Sequence | Term;
interface Alternation {
  readonly kind: 'alt';
  readonly branches: Sequence[];
}
interface Sequence {
  readonly kind: 'seq';
  readonly terms: Term[];
}
interface Term {
  readonly kind: 'term';
  /** A group's content, or undefined for a one-character atom or an assertion. */
  readonly group: Alternation | undefined;
  /** `^` at this point (start anchor). */
  readonly startAnchor: boolean;
  /** The atom's text when it matches exactly one character (a literal, `.`, a class, `\\d`…). */
  readonly oneChar: string | undefined;
  readonly min: number;
  readonly max: number;
}

const NESTED = 'nested quantifiers (a quantified group containing a quantifier or an alternation) can stall the server';

/** Parses a pattern `new RegExp` accepted (no flags, Annex B syntax), refusing what the bound cannot cover. */
class Parser {
  private i = 0;
  constructor(private readonly source: string) {}

  parse(): Alternation {
    return this.alternation();
  }

  private alternation(): Alternation {
    const branches = [this.sequence()];
    while (this.source[this.i] === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    return { kind: 'alt', branches };
  }

  private sequence(): Sequence {
    const terms: Term[] = [];
    const s = this.source;
    while (this.i < s.length && s[this.i] !== '|' && s[this.i] !== ')') terms.push(this.term());
    return { kind: 'seq', terms };
  }

  private term(): Term {
    const s = this.source;
    const ch = s[this.i]!;
    let group: Alternation | undefined;
    let startAnchor = false;
    const start = this.i;
    let oneChar = true;
    if (ch === '(') {
      oneChar = false;
      this.i++;
      if (s[this.i] === '?') {
        const kind = s.slice(this.i, this.i + 3);
        if (kind.startsWith('?:')) this.i += 2;
        else if (kind === '?<=' || kind === '?<!' || kind.startsWith('?=') || kind.startsWith('?!')) throw new Refused('lookahead and lookbehind are not allowed in listen patterns');
        else this.i = s.indexOf('>', this.i) + 1; // (?<name>
      }
      group = this.alternation();
      this.i++; // ')'
    } else if (ch === '[') {
      this.skipClass();
    } else if (ch === '\\') {
      const next = s[this.i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') throw new Refused('back-references are not allowed in listen patterns');
      oneChar = next !== 'b' && next !== 'B';
      // \xHH, \uHHHH and \cX are one character written with several.
      this.i += next === 'x' && /^[0-9a-fA-F]{2}/.test(s.slice(this.i + 2)) ? 4 : next === 'u' && /^[0-9a-fA-F]{4}/.test(s.slice(this.i + 2)) ? 6 : next === 'c' && /^[a-zA-Z]/.test(s.slice(this.i + 2)) ? 3 : 2;
    } else {
      startAnchor = ch === '^';
      oneChar = ch !== '^' && ch !== '$';
      this.i++;
    }
    const atom = s.slice(start, this.i);
    const [min, max] = this.quantifier();
    if (group !== undefined && max > 1 && hasChoice(group)) throw new Refused(NESTED);
    return { kind: 'term', group, startAnchor, oneChar: oneChar ? atom : undefined, min, max };
  }

  private skipClass(): void {
    const s = this.source;
    this.i++; // '['; in JavaScript the first unescaped ']' ends the class, even right after '[' or '[^'
    while (this.i < s.length && s[this.i] !== ']') this.i += s[this.i] === '\\' ? 2 : 1;
    this.i++; // ']'
  }

  /** The quantifier at the cursor, as [min, max]; [1, 1] when there is none. Skips a lazy `?`. */
  private quantifier(): [number, number] {
    const s = this.source;
    let range: [number, number] | undefined;
    const ch = s[this.i];
    if (ch === '*') range = [0, Infinity];
    else if (ch === '+') range = [1, Infinity];
    else if (ch === '?') range = [0, 1];
    if (range !== undefined) this.i++;
    else if (ch === '{') {
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i));
      if (braces === null) return [1, 1]; // a literal `{` (Annex B)
      this.i += braces[0].length;
      const min = Number(braces[1]);
      range = [min, braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3])];
    }
    if (range === undefined) return [1, 1];
    if (s[this.i] === '?') this.i++; // lazy: the same iteration counts, tried in another order
    return range;
  }
}

/** Whether a group offers the matcher any choice: a quantifier or an alternation anywhere inside. */
function hasChoice(node: Node): boolean {
  switch (node.kind) {
    case 'alt':
      return node.branches.length > 1 || node.branches.some(hasChoice);
    case 'seq':
      return node.terms.some(hasChoice);
    case 'term':
      return node.min !== node.max || (node.group !== undefined && hasChoice(node.group));
  }
}

/** Upper bound on the leaves of the search tree for one start position (see the module comment). */
function paths(node: Node, isTail: boolean): number {
  switch (node.kind) {
    case 'alt':
      return node.branches.reduce((sum, branch) => sum + paths(branch, isTail), 0);
    case 'seq': {
      // From the end: each term multiplies the ways of what follows it.
      let rest = 1;
      for (let index = node.terms.length - 1; index >= 0; index--) {
        const term = node.terms[index]!;
        const next = node.terms[index + 1];
        const tail = isTail && next === undefined;
        // `[^/]+/`: every iteration count but one fails on the next character at once, so the
        // repetition adds n + 1 one-step leaves and a single branch that goes on.
        if (!tail && next !== undefined && stopsAtOnce(term, next)) rest = iterationCounts(term) + rest;
        else rest *= paths(term, tail);
      }
      return rest;
    }
    case 'term': {
      const inner = node.group === undefined ? 1 : paths(node.group, isTail && node.max === 1);
      if (node.min === node.max || isTail) return inner;
      return inner * iterationCounts(node);
    }
  }
}

/** How many iteration counts a quantifier can try on a name of the assumed length. */
function iterationCounts(term: Term): number {
  return Math.min(term.max - term.min + 1, ASSUMED_NAME_LENGTH + 1);
}

/**
 * Whether `term` repeats one character from a set that cannot contain the character `next`
 * requires: then the repetition can only end where that character is, and its iteration count is
 * decided, not searched.
 */
function stopsAtOnce(term: Term, next: Term): boolean {
  if (term.oneChar === undefined || term.min === term.max || next.min < 1) return false;
  const literal = literalOf(next.oneChar);
  return literal !== undefined && !new RegExp(`^(?:${term.oneChar})$`).test(literal);
}

/** The character a one-character atom stands for, when it is a literal (`/`, `\\.`), else undefined. */
function literalOf(atom: string | undefined): string | undefined {
  if (atom === undefined) return undefined;
  if (atom.length === 1) return atom === '.' ? undefined : atom;
  if (atom.length === 2 && atom[0] === '\\' && !/[0-9A-Za-z]/.test(atom[1]!)) return atom[1];
  return undefined;
}

/** True when every branch starts with `^` (no `m` flag: only position 0 can match). */
function anchoredAtStart(tree: Alternation): boolean {
  return tree.branches.every((branch) => {
    const first = branch.terms[0];
    if (first === undefined) return false;
    if (first.startAnchor) return true;
    return first.group !== undefined && first.min >= 1 && anchoredAtStart(first.group);
  });
}
