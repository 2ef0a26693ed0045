/**
 * Path patterns of permissions.yml (SECURITY §3.3): `*` matches anything (including `/`), `$name`
 * one or more characters other than `/`, captured as the rule variable `$name`. Other characters
 * are regular-expression syntax, unescaped, as in the reference (`.` matches any character).
 */
export interface CompiledPath {
  readonly regex: RegExp;
  /** Variable names with their `$`, in order of appearance. */
  readonly variables: readonly string[];
}

const PLACEHOLDER = /\*|\$([A-Za-z0-9]+)/g;

/** Compiles a path, or returns why it is refused. */
export function compilePath(path: string): CompiledPath | string {
  if (path === '') return 'a path must not be empty';
  if (path.startsWith('/')) return 'a path must not start with "/"';
  if (/\$(?![A-Za-z0-9])/.test(path)) return '"$" must be followed by letters or digits (a variable name)';
  const variables: string[] = [];
  let source = '';
  let last = 0;
  for (const match of path.matchAll(PLACEHOLDER)) {
    source += path.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === '*') {
      source += '.*';
      continue;
    }
    const variable = `$${match[1]!}`;
    if (variables.includes(variable)) return `the variable ${variable} appears twice`;
    variables.push(variable);
    // Named groups: parentheses in the rest of the pattern cannot shift which group is which.
    source += `(?<v_${match[1]!}>[^/]+)`;
  }
  source += path.slice(last);
  try {
    return { regex: new RegExp(`^(?:${source})$`), variables };
  } catch (error) {
    return `not a valid pattern: ${(error as Error).message}`;
  }
}

/** The variables of `name` under `path`, or undefined when the path does not match. */
export function matchPath(path: CompiledPath, name: string): Map<string, string> | undefined {
  const match = path.regex.exec(name);
  if (match === null) return undefined;
  const values = new Map<string, string>();
  for (const variable of path.variables) values.set(variable, match.groups![`v_${variable.slice(1)}`]!);
  return values;
}
