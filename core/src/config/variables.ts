/**
 * `${NAME}` in a config or rules file: replaced by the environment variable's value in the text,
 * before the file is parsed, so `port: ${PORT}` is a number as it would be written by hand.
 * deepstream's files use the same syntax.
 */
const VARIABLE = /\$\{([^}]+)\}/g;

/**
 * Replaces every `${NAME}` in `text`, except on YAML comment lines (a commented-out setting is no
 * reference). A variable that is not set is given to `missing`, which returns the text to put
 * there or throws; by default a missing variable is an error naming it.
 */
export function substituteVariables(
  text: string,
  { env = process.env, missing = refuseMissing }: { env?: NodeJS.ProcessEnv; missing?: (name: string) => string } = {},
): string {
  if (!text.includes('${')) return text;
  const replace = (line: string) => (line.includes('${') && !COMMENT.test(line) ? line.replace(VARIABLE, (_match, name: string) => env[name] ?? missing(name)) : line);
  return text.split('\n').map(replace).join('\n');
}

const COMMENT = /^\s*#/;

/** The names of the `${NAME}` variables `text` refers to outside comment lines, in order, each once. */
export function variablesIn(text: string): string[] {
  const lines = text.split('\n').filter((line) => !COMMENT.test(line));
  return [...new Set(lines.flatMap((line) => Array.from(line.matchAll(VARIABLE), (match) => match[1]!)))];
}

function refuseMissing(name: string): never {
  throw new MissingVariableError(name);
}

export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set (referred to as \${${variable}})`);
  }
}
