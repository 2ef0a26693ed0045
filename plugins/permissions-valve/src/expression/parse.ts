import { children, type BinaryOperator, type Node } from './ast.ts';
import { ExpressionError, tokenize, type Token } from './tokenize.ts';

export interface ParseLimits {
  /** Longest rule text, in characters. */
  readonly maxLength: number;
  /** Deepest syntax tree: bounds the interpreter's recursion and the parser's. */
  readonly maxDepth: number;
}

const LITERAL_WORDS: ReadonlyMap<string, boolean | null | undefined> = new Map<string, boolean | null | undefined>([
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
]);

const EQUALITY = new Set(['===', '!==', '==', '!=']);
const RELATIONAL = new Set(['<', '<=', '>', '>=']);
const ADDITIVE = new Set(['+', '-']);
const MULTIPLICATIVE = new Set(['*', '/', '%']);

/** Parses one rule expression into a syntax tree, or throws ExpressionError saying what is wrong and where. */
export function parse(text: string, limits: ParseLimits): Node {
  if (text.length > limits.maxLength) throw new ExpressionError(`the rule is longer than ${limits.maxLength} characters`, limits.maxLength);
  if (text.trim() === '') throw new ExpressionError('the rule is empty', 0);
  const node = new Parser(tokenize(text), limits.maxDepth).parseAll();
  if (depthOf(node, limits.maxDepth) > limits.maxDepth) throw new ExpressionError(`the rule nests deeper than ${limits.maxDepth} levels`, 0);
  return node;
}

/** Depth of the tree, counting no further than `limit + 1`. */
function depthOf(node: Node, limit: number, depth = 1): number {
  if (depth > limit) return depth;
  let deepest = depth;
  for (const child of children(node)) deepest = Math.max(deepest, depthOf(child, limit, depth + 1));
  return deepest;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly maxDepth: number,
  ) {}

  parseAll(): Node {
    const node = this.conditional();
    const rest = this.peek();
    if (rest.kind !== 'end') throw new ExpressionError(`unexpected ${describe(rest)} after the end of the expression`, rest.pos);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    return this.tokens[this.index++]!;
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.value === value;
  }

  private expect(value: string): Token {
    const token = this.next();
    if (token.kind !== 'punct' || token.value !== value) throw new ExpressionError(`expected "${value}" but found ${describe(token)}`, token.pos);
    return token;
  }

  /** Every nested sub-expression passes here, so the parser's own recursion is bounded too. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > this.maxDepth) throw new ExpressionError(`the rule nests deeper than ${this.maxDepth} levels`, this.peek().pos);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private conditional(): Node {
    return this.nested(() => {
      const test = this.logicalOr();
      if (!this.isPunct('?')) return test;
      this.next();
      const consequent = this.conditional();
      this.expect(':');
      const alternate = this.conditional();
      return { type: 'conditional', test, consequent, alternate };
    });
  }

  private logicalOr(): Node {
    let left = this.logicalAnd();
    while (this.isPunct('||') || this.isPunct('??')) {
      const operator = this.isPunct('||') ? '||' : '??';
      this.next();
      left = { type: 'logical', operator, left, right: this.logicalAnd() };
    }
    return left;
  }

  private logicalAnd(): Node {
    let left = this.binary(0);
    while (this.isPunct('&&')) {
      this.next();
      left = { type: 'logical', operator: '&&', left, right: this.binary(0) };
    }
    return left;
  }

  /** Equality, relational, additive and multiplicative levels, left-associative, tightest last. */
  private binary(level: number): Node {
    const levels = [EQUALITY, RELATIONAL, ADDITIVE, MULTIPLICATIVE];
    const operators = levels[level];
    if (operators === undefined) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'punct' || !operators.has(token.value)) return left;
      this.next();
      left = { type: 'binary', operator: token.value as BinaryOperator, left, right: this.binary(level + 1) };
    }
  }

  private unary(): Node {
    const token = this.peek();
    const operator =
      token.kind === 'punct' && (token.value === '!' || token.value === '-' || token.value === '+')
        ? token.value
        : token.kind === 'identifier' && token.value === 'typeof'
          ? 'typeof'
          : undefined;
    if (operator === undefined) return this.postfix();
    this.next();
    return this.nested(() => ({ type: 'unary', operator, argument: this.unary() }));
  }

  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'punct') return node;
      if (token.value === '.' || token.value === '?.') {
        this.next();
        const optional = token.value === '?.';
        if (optional && this.isPunct('(')) throw new ExpressionError('optional calls "?.()" are not allowed', token.pos);
        if (optional && this.isPunct('[')) {
          node = this.computedMember(node, true, token.pos);
          continue;
        }
        const property = this.next();
        if (property.kind !== 'identifier') throw new ExpressionError(`expected a property name after "${token.value}" but found ${describe(property)}`, property.pos);
        node = { type: 'member', object: node, property: property.value, optional, pos: property.pos };
      } else if (token.value === '[') {
        node = this.computedMember(node, false, token.pos);
      } else if (token.value === '(') {
        node = this.call(node, token.pos);
      } else {
        return node;
      }
    }
  }

  private computedMember(object: Node, optional: boolean, pos: number): Node {
    this.expect('[');
    const property = this.conditional();
    this.expect(']');
    return { type: 'member', object, property, optional, pos };
  }

  /** Calls exist only as `_(name)` and `value.method(...)`; which methods is checked afterwards. */
  private call(callee: Node, pos: number): Node {
    this.expect('(');
    const args: Node[] = [];
    while (!this.isPunct(')')) {
      args.push(this.conditional());
      if (!this.isPunct(')')) this.expect(',');
    }
    this.expect(')');
    if (callee.type === 'identifier' && callee.name === '_') {
      if (args.length !== 1) throw new ExpressionError(`_() takes exactly one record name, got ${args.length} arguments`, pos);
      return { type: 'crossReference', arg: args[0]!, pos: callee.pos };
    }
    if (callee.type === 'member' && typeof callee.property === 'string') {
      return { type: 'method', object: callee.object, method: callee.property, args, optional: callee.optional, pos: callee.pos };
    }
    throw new ExpressionError('only _() and the allowed string and array methods can be called', pos);
  }

  private primary(): Node {
    const token = this.next();
    switch (token.kind) {
      case 'number':
      case 'string':
        return { type: 'literal', value: token.value };
      case 'regex':
        return { type: 'regex', value: token.value };
      case 'identifier': {
        if (LITERAL_WORDS.has(token.value)) return { type: 'literal', value: LITERAL_WORDS.get(token.value) };
        return { type: 'identifier', name: token.value, pos: token.pos };
      }
      case 'punct':
        if (token.value === '(') {
          const inner = this.conditional();
          this.expect(')');
          return inner;
        }
        if (token.value === '[') return this.nested(() => this.arrayLiteral());
        throw new ExpressionError(`unexpected ${describe(token)}`, token.pos);
      case 'end':
        throw new ExpressionError('the rule ends too early', token.pos);
    }
  }

  private arrayLiteral(): Node {
    const elements: Node[] = [];
    while (!this.isPunct(']')) {
      if (this.isPunct(',')) throw new ExpressionError('array holes are not allowed', this.peek().pos);
      elements.push(this.conditional());
      if (!this.isPunct(']')) this.expect(',');
    }
    this.expect(']');
    return { type: 'array', elements };
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the rule';
    case 'string':
      return `the string ${JSON.stringify(token.value)}`;
    case 'regex':
      return `the regular expression ${String(token.value)}`;
    default:
      return `"${String(token.value)}"`;
  }
}
