import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import { DeepstreamError, substituteVariables, variablesIn } from '@deepstream-ts/core';

/**
 * deepstream's macros, resolved as deepstream 7 resolves them (its js-yaml-loader):
 * - `${NAME}`: replaced in the text before parsing by the environment variable, or by nothing
 *   when it is not set (we also say so, in a warning naming it);
 * - `file(path)`: the path, relative to the config file's directory;
 * - `fileLoad(path)`: the file's content, itself with `${NAME}` replaced, parsed when it is
 *   `.yml`, `.yaml` or `.json`, else the text as is (PEM keys).
 * deepstream replaces `file(…)`/`fileLoad(…)` anywhere in a line; we resolve values that are
 * exactly one macro, which is how its documentation and its own conf/ write them.
 */
export class Macros {
  /** Variables referred to outside comments that are not set, each named once in `warnings`. */
  readonly missing = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `${NAME}` in a file's text, the way deepstream replaces it (unset: empty). */
  substitute(text: string): string {
    for (const name of variablesIn(text)) if (!this.env[name]) this.missing.add(name);
    // deepstream tests `process.env[name] || ''`: a variable set to the empty string is empty too.
    return substituteVariables(text, { env: this.env, missing: () => '' });
  }

  /** The path a `file(path)` or `fileLoad(path)` names, absolute. */
  path(path: string): string {
    return isAbsolute(path) ? path : resolve(this.dir, path);
  }

  /** Every `file()`/`fileLoad()` string inside `value` resolved, at any depth. */
  resolve(value: unknown): unknown {
    if (typeof value === 'string') {
      const macro = parseMacro(value);
      if (macro === undefined) return value;
      return macro.kind === 'file' ? this.path(macro.path) : this.load(macro.path);
    }
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, this.resolve(inner)]));
    }
    return value;
  }

  /** `fileLoad(path)`: the file's content, parsed when YAML/JSON. */
  load(path: string): unknown {
    const file = this.path(path);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw invalid(`fileLoad(${path}): cannot read ${file}: ${(error as Error).message}`);
    }
    const extension = extname(file).toLowerCase();
    if (extension === '.js') throw invalid(`fileLoad(${path}): a .js file would be run as code; give its content as YAML or JSON`);
    text = this.substitute(text);
    if (extension !== '.yml' && extension !== '.yaml' && extension !== '.json') return text;
    try {
      return extension === '.json' ? JSON.parse(text) : yaml.load(text, { filename: file });
    } catch (error) {
      throw invalid(`fileLoad(${path}): ${file} is not valid ${extension === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}

/** `file(x)` or `fileLoad(x)` as a whole value, else undefined. */
export function parseMacro(value: string): { kind: 'file' | 'fileLoad'; path: string } | undefined {
  const match = /^\s*(file|fileLoad)\((.+)\)\s*$/.exec(value);
  if (match === null) return undefined;
  return { kind: match[1] as 'file' | 'fileLoad', path: match[2]!.trim().replace(/^(['"])(.*)\1$/, '$2') };
}

export function invalid(message: string): DeepstreamError {
  return new DeepstreamError('DS_CONFIG_INVALID', `deepstream config: ${message}`);
}
