/**
 * Every workspace package has the publishable shape docs/packages.md describes, so that a package
 * added later is built, packed and installed like the rest (test/install.test.ts) without anyone
 * remembering the details.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { workspaces } from '../scripts/workspaces.mjs';

const CORE = '@deepstream-ts/core';
const BUILD = 'tsc --build tsconfig.build.json';

describe('the shape of every workspace package (docs/packages.md)', () => {
  const all = workspaces();

  it('finds the workspaces', () => {
    assert.ok(all.some(({ pkg }) => pkg.name === CORE));
    assert.ok(all.length > 10, `only ${all.length} workspaces`);
  });

  for (const { path, dir, pkg } of all) {
    it(`${path} (${pkg.name})`, () => {
      for (const field of ['name', 'version', 'description', 'license']) assert.equal(typeof pkg[field], 'string', `"${field}"`);
      assert.equal(pkg.type, 'module', '"type": "module"');
      assert.equal(typeof pkg.engines?.node, 'string', '"engines.node"');
      assert.deepEqual(pkg.files?.slice(0, 2), ['dist', '!dist/.tsbuildinfo'], '"files" starts with dist without the build info');
      assert.equal(pkg.scripts?.build, BUILD, 'scripts.build');
      assert.equal(pkg.scripts?.prepack, BUILD, 'scripts.prepack (npm publish builds first)');
      assert.ok(existsSync(join(dir, 'README.md')), 'a README.md');

      const exports = pkg.exports as Record<string, unknown>;
      assert.ok(exports?.['.'] !== undefined, 'exports["."]');
      for (const [subpath, target] of Object.entries(exports)) {
        if (subpath === './package.json') continue;
        const { source, types, import: entry, ...other } = target as Record<string, string>;
        assert.deepEqual(Object.keys(other), [], `exports["${subpath}"] has only source, types and import`);
        assert.match(source ?? '', /^\.\/src\/.+\.ts$/, `exports["${subpath}"].source`);
        assert.ok(existsSync(join(dir, source!)), `${source} exists`);
        const stem = source!.slice('./src/'.length, -'.ts'.length);
        assert.equal(types, `./dist/${stem}.d.ts`, `exports["${subpath}"].types`);
        assert.equal(entry, `./dist/${stem}.js`, `exports["${subpath}"].import`);
      }

      const build = JSON.parse(readFileSync(join(dir, 'tsconfig.build.json'), 'utf8')) as {
        extends: string;
        compilerOptions: Record<string, string>;
        include: string[];
        references?: Array<{ path: string }>;
      };
      assert.match(build.extends, /tsconfig\.build\.base\.json$/);
      assert.deepEqual(build.compilerOptions, { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' });
      assert.deepEqual(build.include, ['src']);

      if (pkg.name === CORE) {
        assert.equal(pkg.dependencies?.typescript, undefined, 'typescript is not a runtime dependency');
        assert.equal(pkg.dependencies?.tsx, undefined, 'tsx is optional');
        assert.equal(typeof pkg.optionalDependencies?.tsx, 'string', 'tsx: an optional dependency, for .ts configs');
      } else {
        assert.equal(typeof pkg.peerDependencies?.[CORE], 'string', `a peer dependency on ${CORE} (the kernel range)`);
        assert.equal(pkg.dependencies?.[CORE], undefined, `${CORE} only as a peer`);
        assert.ok(build.references?.some((ref) => ref.path.endsWith('core/tsconfig.build.json')), 'references core');
      }
    });
  }
});
