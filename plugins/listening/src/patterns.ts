/**
 * Listen patterns are JavaScript regular expressions, unanchored (RECORDS §11.1). A pattern runs
 * against every subscribed name, on the server's only thread, so patterns that can backtrack
 * catastrophically are refused up front.
 */
export interface PatternLimits {
  /** Longest pattern accepted, in characters. */
  maxPatternLength: number;
}

/** A compiled pattern, or the reason it is refused. */
export function compilePattern(pattern: string, limits: PatternLimits): RegExp | string {
  if (pattern === '') return 'the pattern is empty';
  if (pattern.length > limits.maxPatternLength) return `the pattern is longer than ${limits.maxPatternLength} characters`;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  const risk = backtrackingRisk(pattern);
  return risk === undefined ? regex : risk;
}

/**
 * A conservative check for the shapes behind nearly every ReDoS: a quantified group that itself
 * contains a quantifier or an alternation (`(a+)+`, `(a|a)*`, `(.*a){10}`), and back-references.
 * It refuses some harmless patterns; providers can always rewrite those without nesting.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not allowed in listen patterns';
  // Per open group: whether it contains a quantifier or alternation.
  const groups: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') groups.push(false);
    else if (ch === '|' || isQuantifier(pattern, i)) {
      if (groups.length > 0) groups[groups.length - 1] = true;
    } else if (ch === ')') {
      const risky = groups.pop() ?? false;
      if (risky && isQuantifier(pattern, i + 1)) return 'nested quantifiers (a quantified group containing a quantifier or alternation) can stall the server';
      if (risky && groups.length > 0) groups[groups.length - 1] = true;
    }
  }
  return undefined;
}

function isQuantifier(pattern: string, i: number): boolean {
  const ch = pattern[i];
  if (ch === '*' || ch === '+') return true;
  if (ch === '?') return pattern[i - 1] !== '('; // `(?:`, `(?=`, `(?<name>` open groups, they do not repeat
  if (ch === '{') return /^\{\d+(,\d*)?\}/.test(pattern.slice(i));
  return false;
}
