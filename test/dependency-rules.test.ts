/**
 * The dependency rules of the repository, checked on every test run (wiring issue, item 2):
 * - a package's sources import only Node's built-ins, the packages its package.json declares,
 *   and files of its own (never a sibling package by relative path);
 * - a plugin imports no connector: it declares a need, and a connector provides the service;
 * - a connector imports no plugin, only the kernel;
 * - no import cycle between the files of one package (type-only imports excepted: they vanish).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Package {
  dir: string;
  name: string;
  kind: 'kernel' | 'plugin' | 'connector';
  declared: Set<string>;
  files: string[];
}

const CONNECTOR = /^@deepstream-ts\/(cache|storage|cluster)-/;

function sourcesOf(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourcesOf(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function packages(): Package[] {
  const dirs = ['core', ...['plugins', 'connectors'].flatMap((group) => readdirSync(join(root, group)).map((name) => join(group, name)))];
  return dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    const declared = new Set([pkg.dependencies, pkg.peerDependencies, pkg.optionalDependencies].flatMap((deps) => Object.keys((deps as object) ?? {})));
    const kind = dir === 'core' ? 'kernel' : dir.startsWith('plugins/') ? 'plugin' : 'connector';
    return { dir, name: pkg.name as string, kind, declared, files: sourcesOf(join(root, dir, 'src')) };
  });
}

/** Every module specifier of a file, with whether the import is type-only. */
function importsOf(source: string): Array<{ specifier: string; typeOnly: boolean }> {
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(statement)) found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined });
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('dependency rules', () => {
  const all = packages();

  it('sources import only built-ins, declared packages and their own files; plugins no connector, connectors no plugin', () => {
    const problems: string[] = [];
    for (const pkg of all) {
      for (const file of pkg.files) {
        const where = relative(root, file);
        for (const { specifier } of importsOf(readFileSync(file, 'utf8'))) {
          if (specifier.startsWith('node:')) continue;
          if (specifier.startsWith('.')) {
            const target = resolve(dirname(file), specifier);
            if (!target.startsWith(join(root, pkg.dir) + '/')) problems.push(`${where}: "${specifier}" reaches outside ${pkg.name}`);
            continue;
          }
          const name = packageName(specifier);
          if (name === pkg.name) continue;
          if (!pkg.declared.has(name)) problems.push(`${where}: imports "${name}", which ${pkg.dir}/package.json does not declare`);
          if (pkg.kind === 'plugin' && CONNECTOR.test(name)) problems.push(`${where}: a plugin imports the connector "${name}" (declare a need instead)`);
          if (pkg.kind === 'connector' && name.startsWith('@deepstream-ts/') && name !== '@deepstream-ts/core') problems.push(`${where}: a connector imports "${name}"`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('no import cycle between the files of one package', () => {
    const cycles: string[] = [];
    for (const pkg of all) {
      const edges = new Map<string, string[]>();
      for (const file of pkg.files) {
        const targets = importsOf(readFileSync(file, 'utf8'))
          .filter(({ specifier, typeOnly }) => !typeOnly && specifier.startsWith('.'))
          .map(({ specifier }) => resolve(dirname(file), specifier));
        edges.set(file, targets);
      }
      const state = new Map<string, 'open' | 'done'>();
      const stack: string[] = [];
      const visit = (file: string): void => {
        if (state.get(file) === 'done') return;
        if (state.get(file) === 'open') {
          cycles.push(stack.slice(stack.indexOf(file)).concat(file).map((f) => relative(root, f)).join(' -> '));
          return;
        }
        state.set(file, 'open');
        stack.push(file);
        for (const target of edges.get(file) ?? []) if (edges.has(target)) visit(target);
        stack.pop();
        state.set(file, 'done');
      };
      for (const file of pkg.files) visit(file);
    }
    assert.deepEqual(cycles, []);
  });

  it('the checks see the imports they judge (a sanity check of the parser)', () => {
    const parsed = importsOf(`import { a } from './a.ts';\nimport type { B } from "@x/b";\nexport { c } from '../c.ts';\nconst d = await import('node:fs');\nimport 'side-effect';`);
    assert.deepEqual(parsed, [
      { specifier: './a.ts', typeOnly: false },
      { specifier: '@x/b', typeOnly: true },
      { specifier: '../c.ts', typeOnly: false },
      { specifier: 'side-effect', typeOnly: false },
      { specifier: 'node:fs', typeOnly: false },
    ]);
  });
});
