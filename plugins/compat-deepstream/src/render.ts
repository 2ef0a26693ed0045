import { dirname, sep } from 'node:path';
import yaml from 'js-yaml';
import type { Translation } from './translate.ts';

/**
 * `deepstream migrate`: a translation written out as a config file a person will keep and edit.
 * Paths under the deepstream config's directory become relative (`./users.yml`), so the result
 * works when saved next to it; every dropped key is listed with the reason, and every plugin says
 * which deepstream key it comes from.
 */
export function renderTs(translation: Translation, source: string): string {
  const t = relativePaths(translation, dirname(source));
  const imports = new Map<string, string>();
  for (const { use } of t.plugins) imports.set(use, identifier(use));
  const lines = [
    ...header(t, source, '//'),
    "import { defineConfig } from '@deepstream-ts/core';",
    ...[...imports].map(([use, name]) => `import ${name} from '${use}';`),
    '',
    'export default defineConfig({',
  ];
  for (const [key, value] of Object.entries(t.settings)) lines.push(`  ${key}: ${literal(value, 1)},`);
  lines.push('  plugins: [');
  for (const { use, options, from } of t.plugins) {
    const name = imports.get(use)!;
    lines.push(`    ${options === undefined ? name : `${name}.with(${literal(options, 2)})`}, // from ${from}`);
  }
  lines.push('  ],', '});', '');
  return lines.join('\n');
}

export function renderYaml(translation: Translation, source: string): string {
  const t = relativePaths(translation, dirname(source));
  const plugins = t.plugins.map(({ use, options }) => (options === undefined ? { use } : { use, options }));
  const body = yaml.dump({ ...t.settings, plugins }, { lineWidth: 120, noRefs: true });
  return [...header(t, source, '#'), body].join('\n');
}

function header(t: Translation, source: string, comment: string): string[] {
  const lines = [`${comment} Translated by \`deepstream migrate\` from ${source} (deepstream 7). Save it next to that file.`];
  if (t.dropped.length > 0) {
    lines.push(`${comment} Dropped, with no equivalent here:`);
    for (const { key, why } of t.dropped) lines.push(`${comment} - ${key}: ${why}`);
  }
  for (const note of t.notes) lines.push(`${comment} Note: ${note}`);
  lines.push('');
  return lines;
}

/** `@deepstream-ts/plugin-auth-file` → `authFile`; `@deepstream-ts/cache-redis` → `cacheRedis`. */
function identifier(use: string): string {
  const base = use.split('/').pop()!.replace(/^plugin-/, '');
  return base.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function relativePaths(t: Translation, dir: string): Translation {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.startsWith(dir + sep) ? `.${sep}${value.slice(dir.length + 1)}` : value;
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return { ...t, settings: walk(t.settings) as Translation['settings'], plugins: t.plugins.map((p) => ({ ...p, options: walk(p.options) as typeof p.options })) };
}

/** A value as TypeScript source: identifiers unquoted, short objects on one line. */
function literal(value: unknown, depth: number): string {
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, depth + 1)).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, inner]) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${literal(inner, depth + 1)}`);
    const line = `{ ${entries.join(', ')} }`;
    if (entries.length === 0) return '{}';
    if (line.length <= 100) return line;
    const pad = '  '.repeat(depth + 1);
    return `{\n${entries.map((entry) => `${pad}${entry},`).join('\n')}\n${'  '.repeat(depth)}}`;
  }
  return typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'` : String(value);
}
