// `npm run build`: every workspace package to dist/ (JavaScript and .d.ts) with one `tsc --build`,
// which orders the projects by their references (core first) and skips those that are up to date.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, workspaces } from './workspaces.mjs';

const projects = workspaces().map(({ path }) => join(path, 'tsconfig.build.json'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '--build', ...projects, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
