import { getHashes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { PluginCommand } from '@deepstream-ts/core';
import type { AuthFileOptions } from './options.ts';
import { hashPassword } from './password.ts';

/**
 * `deepstream hash [PASSWORD]`: a hash for the users file, made with the hash settings the server
 * will check it with: auth-file's options in the config (`--config`, else the one in the working
 * directory), else the defaults, which `--algorithm`, `--iterations` and `--key-length` may
 * change. Only the hash goes to stdout, so a script can capture it; without PASSWORD the password
 * is read from standard input.
 */
export const hashCommand: PluginCommand<AuthFileOptions> = {
  summary: 'print a password hash for a users file; without PASSWORD, read it from stdin',
  async run({ args, options, config }) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { algorithm: { type: 'string' }, iterations: { type: 'string' }, 'key-length': { type: 'string' } },
      });
    } catch (error) {
      return fail((error as Error).message);
    }
    const { values: flags, positionals } = parsed;
    const flagged = Object.keys(flags).map((flag) => `--${flag}`);
    if (config !== undefined && flagged.length > 0) {
      return fail(`${flagged.join(', ')} would make a hash that ${config} does not check: its auth-file options set the hash settings`);
    }
    if (options.hash === false && flags.algorithm === undefined) {
      return fail(`${config ?? 'the config'} sets hash: false, so the users file holds plain-text passwords: there is nothing to hash`);
    }
    const algorithm = flags.algorithm ?? (options.hash as string);
    const iterations = flags.iterations === undefined ? options.iterations : Number(flags.iterations);
    const keyLength = flags['key-length'] === undefined ? options.keyLength : Number(flags['key-length']);
    const problem = !getHashes().includes(algorithm)
      ? `--algorithm must be a digest Node knows (e.g. sha256, sha512), got "${algorithm}"`
      : !Number.isInteger(iterations) || iterations < 1
        ? `--iterations must be a positive integer, got "${flags.iterations}"`
        : !Number.isInteger(keyLength) || keyLength < 1
          ? `--key-length must be a positive integer, got "${flags['key-length']}"`
          : undefined;
    if (problem !== undefined) return fail(problem);
    const secret = positionals[0] ?? (await readStdin()).replace(/\r?\n$/, '');
    if (secret === '') return fail('the password is empty');
    process.stdout.write(`${await hashPassword(secret, { hash: algorithm, iterations, keyLength })}\n`);
    const from = config === undefined ? 'the auth-file defaults' : `the auth-file options in ${config}`;
    process.stderr.write(`PBKDF2 ${algorithm}, ${iterations} iterations, ${keyLength}-byte key (${from})\n`);
    return 0;
  },
};

function fail(message: string): number {
  process.stderr.write(`deepstream hash: ${message}\n`);
  return 2;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}
