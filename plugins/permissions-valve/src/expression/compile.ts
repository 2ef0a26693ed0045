import type { Node } from './ast.ts';
import { analyze, type Usage } from './analyze.ts';
import { parse, type ParseLimits } from './parse.ts';

/** A rule expression ready to run: parsed and checked once, when the rules load. */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: Node;
  readonly usage: Usage;
}

/** Parses and checks `source`; throws ExpressionError (with the offset) when the rule is refused. */
export function compileExpression(source: string, variables: ReadonlySet<string>, limits: ParseLimits): CompiledExpression {
  const ast = parse(source, limits);
  return { source, ast, usage: analyze(ast, variables) };
}
