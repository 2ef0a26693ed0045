/**
 * Resident memory at start: our server from the built packages on plain Node (bench/memory.config.yaml)
 * and deepstream 7.0.2, alternately, each once it accepts connections and has idled a moment (VmRSS).
 *   node --conditions=source --import tsx bench/memory.ts [--rounds 3] [--settle 1000]     (after npm install --prefix bench/compare)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './lib/args.ts';
import { root, rssBytes, runBenchmark, sleep, startServer } from './lib/proc.ts';
import { median } from './lib/report.ts';

const opt = cli({ rounds: '', settle: '' });
const ROUNDS = opt.int('rounds', 3, 1);
const SETTLE_MS = opt.int('settle', 1000);
const SERVERS: Record<string, (port: number) => string[]> = {
  ours: (port) => ['core/dist/cli.js', 'start', '--config', 'bench/memory.config.yaml', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
  'deepstream 7.0.2': (port) => ['bench/compare/deepstream-server.cjs', String(port)],
};

await runBenchmark('bench/memory', 10 * 60_000, async () => {
  if (!existsSync(join(root, 'bench/compare/node_modules/@deepstream/server'))) throw new Error('deepstream 7.0.2 is not installed: npm install --prefix bench/compare');
  if (spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' }).status !== 0) return 1;
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(SERVERS).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, args] of Object.entries(SERVERS)) {
      // No inherited loader flags: plain Node, as a user runs it.
      const server = await startServer({ name, args, env: { NODE_OPTIONS: undefined }, ignore: (line) => /^listening \d+$/.test(line) });
      await sleep(SETTLE_MS);
      results[name]!.push(rssBytes(server.pid) / 2 ** 20);
      await server.stop();
    }
  }
  console.log(`RSS at start, median of ${ROUNDS} (MiB; each run: …)`);
  for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(18)} ${median(xs).toFixed(1)}   (${xs.map((x) => x.toFixed(1)).join(', ')})`);
});
