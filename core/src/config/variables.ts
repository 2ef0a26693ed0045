/**
 * `${NAME}` in a config or rules file: replaced by the environment variable's value in the text,
 * before the file is parsed, so `port: ${PORT}` is a number as it would be written by hand.
 * deepstream's files use the same syntax.
 */
const VARIABLE = /\$\{([^}]+)\}/g;

/**
 * Replaces every `${NAME}` in `text`. A variable that is not set is given to `missing`, which
 * returns the text to put there or throws; by default a missing variable is an error naming it.
 */
export function substituteVariables(
  text: string,
  { env = process.env, missing = refuseMissing }: { env?: NodeJS.ProcessEnv; missing?: (name: string) => string } = {},
): string {
  if (!text.includes('${')) return text;
  return text.replace(VARIABLE, (_match, name: string) => env[name] ?? missing(name));
}

/** The names of the `${NAME}` variables `text` refers to, in order, each once. */
export function variablesIn(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(VARIABLE), (match) => match[1]!))];
}

function refuseMissing(name: string): never {
  throw new MissingVariableError(name);
}

export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set (referred to as \${${variable}})`);
  }
}
