import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import yaml from 'js-yaml';
import { MissingVariableError, substituteVariables } from '@deepstream-ts/core';
import type { ParseLimits } from '../expression/parse.ts';
import { PermissionsError, compileRules } from './compile.ts';
import type { RuleSet } from './ruleset.ts';

/**
 * Reads and compiles a permissions file (YAML, or JSON which is YAML too). `${NAME}` is replaced
 * by the environment variable first, as deepstream does (`user.id === '${ADMIN_USER}'`); an unset
 * one is refused rather than replaced by nothing, which would quietly change what a rule allows.
 * Throws PermissionsError.
 */
export async function loadRulesFile(file: string, limits: ParseLimits, env: NodeJS.ProcessEnv = process.env): Promise<RuleSet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PermissionsError(file, [`${file}: cannot be read: ${(error as Error).message}`]);
  }
  try {
    text = substituteVariables(text, { env });
  } catch (error) {
    if (error instanceof MissingVariableError) throw new PermissionsError(file, [`${file}: ${error.message}`]);
    throw error;
  }
  const { document, lineOf } = parseYaml(text, file);
  return compileRules(document, { name: basename(file), lineOf }, limits);
}

/** Rules given inline in the plugin options. */
export function compileInlineRules(document: unknown, limits: ParseLimits): RuleSet {
  return compileRules(document, { name: 'inline permissions' }, limits);
}

interface Frame {
  readonly line: number;
  readonly children: Array<{ readonly line: number; readonly result: unknown }>;
}

/**
 * Parses YAML and remembers the line of every mapping key, so that a refused rule is reported
 * with its line. js-yaml reports each node opening and closing; a mapping's nodes alternate key,
 * value. Mappings whose nodes do not pair up (merge keys, `{ a }`) are simply left without lines.
 */
export function parseYaml(text: string, file: string): { document: unknown; lineOf: (keys: readonly string[]) => number | undefined } {
  const stack: Frame[] = [{ line: 0, children: [] }];
  const keyLines = new WeakMap<object, Map<string, number>>();
  let document: unknown;
  try {
    document = yaml.load(text, {
      filename: file,
      listener(event, state) {
        if (event === 'open') {
          stack.push({ line: state.line, children: [] });
          return;
        }
        const frame = stack.pop()!;
        const result: unknown = state.result;
        if (state.kind === 'mapping' && result !== null && typeof result === 'object' && frame.children.length === Object.keys(result).length * 2) {
          const lines = new Map<string, number>();
          for (let i = 0; i < frame.children.length; i += 2) lines.set(String(frame.children[i]!.result), frame.children[i]!.line + 1);
          keyLines.set(result, lines);
        }
        stack[stack.length - 1]?.children.push({ line: frame.line, result });
      },
    });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const mark = error.mark as { line?: number; column?: number } | undefined;
      const where = mark?.line === undefined ? file : `${file}:${mark.line + 1}:${(mark.column ?? 0) + 1}`;
      throw new PermissionsError(file, [`${where}: YAML syntax error: ${error.reason}`]);
    }
    throw error;
  }
  const lineOf = (keys: readonly string[]): number | undefined => {
    let node: unknown = document;
    let line: number | undefined;
    for (const key of keys) {
      if (node === null || typeof node !== 'object') return line;
      line = keyLines.get(node)?.get(key) ?? line;
      node = Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
    }
    return line;
  };
  return { document, lineOf };
}
