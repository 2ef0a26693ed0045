/**
 * Resident memory at start: our server from the built packages on plain Node (no TypeScript
 * loader), and deepstream 7.0.2, started alternately in one run, each measured once it accepts
 * connections and has been idle for a moment. Prints both; a script, not a timed test.
 *
 *   npm install --prefix bench/compare        # once: deepstream 7.0.2 (see bench/compare/package.json)
 *   node --conditions=source --import tsx bench/memory.ts [--rounds 3] [--settle 1000]
 *
 * Ours runs `core/dist/cli.js start` with bench/memory.config.yaml (the plugins bench/compare.ts
 * matches to deepstream's setup, plus listening and the health check); deepstream runs
 * bench/compare/deepstream-server.cjs. RSS is VmRSS from /proc/<pid>/status (Linux).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/services/real-servers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, settle: { type: 'string', default: '1000' } } });
const rounds = Number(values.rounds);
const settleMs = Number(values.settle);

if (!existsSync(join(root, 'bench/compare/node_modules/@deepstream/server'))) {
  console.error('deepstream 7.0.2 is not installed: npm install --prefix bench/compare');
  process.exit(2);
}
const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(1);

const SERVERS = {
  ours: (port: number) => ['core/dist/cli.js', 'start', '--config', 'bench/memory.config.yaml', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
  'deepstream 7.0.2': (port: number) => ['bench/compare/deepstream-server.cjs', String(port)],
};

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function measure(args: string[], port: number): Promise<number> {
  // No inherited loader flags: plain Node, as a user runs it.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const deadline = Date.now() + 20_000;
    while (!(await accepts(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${args.join(' ')} did not start`);
      await sleep(50);
    }
    await sleep(settleMs);
    return rssMiB(child.pid!);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const results: Record<string, number[]> = { ours: [], 'deepstream 7.0.2': [] };
for (let round = 0; round < rounds; round++) {
  for (const [name, args] of Object.entries(SERVERS)) {
    const port = await freePort();
    results[name]!.push(await measure(args(port), port));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`RSS at start, median of ${rounds} (MiB; each run: …)`);
for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(18)} ${median(xs).toFixed(1)}   (${xs.map((x) => x.toFixed(1)).join(', ')})`);
