// The workspace packages, read from the root package.json's "workspaces" (the build, the install
// test and the package-shape test all use this list, so a new package needs no registration).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every workspace package as { dir (absolute), path (relative to the root), pkg (its package.json) }. */
export function workspaces() {
  const patterns = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces ?? [];
  const paths = patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    if (!existsSync(join(root, parent))) return [];
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`)
      .sort();
  });
  return paths
    .filter((path) => existsSync(join(root, path, 'package.json')))
    .map((path) => ({ path, dir: join(root, path), pkg: JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8')) }));
}
