import { getHashes, pbkdf2, randomBytes } from 'node:crypto';
import { parseArgs, promisify } from 'node:util';
import { Kernel } from './kernel.ts';
import { loadConfig, migrateConfig } from './config/load.ts';
import { isDeepstreamError, describeError } from './errors.ts';
import { KERNEL_VERSION } from './version.ts';
import type { DeepstreamConfig } from './config/options.ts';
import type { LevelWithSilent } from 'pino';

/**
 * The defaults of the auth-file plugin. The kernel does not load that plugin: hashing is a few
 * lines of node:crypto, and auth-file's tests check that what this prints verifies there.
 */
const HASH_DEFAULTS = { algorithm: 'sha256', iterations: 100_000, keyLength: 32 };

const HELP = `deepstream-ts ${KERNEL_VERSION}: a realtime server for the deepstream v7 protocol

Usage:
  deepstream start [options]   start the server
  deepstream hash [PASSWORD]   print a password hash for a users file (plugin auth-file);
                               without PASSWORD, the password is read from standard input
  deepstream migrate FILE      print a deepstream 7 config.yml as the equivalent deepstream.config.ts
                               (--yaml: as our YAML config), with a comment for each dropped key
  deepstream --version         print the version
  deepstream --help            print this help

Options for start:
  -c, --config PATH     config file (default: deepstream.config.{ts,mjs,js,json,yaml,yml} in the working directory)
      --host HOST       interface to listen on (default 0.0.0.0; env DEEPSTREAM_HOST)
  -p, --port PORT       port for WebSocket and HTTP (default 6020; env DEEPSTREAM_PORT)
      --log-level LEVEL fatal|error|warn|info|debug|trace|silent (env DEEPSTREAM_LOG_LEVEL)

Options for hash (they must equal the auth-file options hash, iterations and keyLength):
      --algorithm NAME  PBKDF2 digest (default ${HASH_DEFAULTS.algorithm})
      --iterations N    PBKDF2 iterations (default ${HASH_DEFAULTS.iterations})
      --key-length N    derived key length in bytes (default ${HASH_DEFAULTS.keyLength})
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'log-level': { type: 'string' },
        algorithm: { type: 'string' },
        iterations: { type: 'string' },
        'key-length': { type: 'string' },
        yaml: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${KERNEL_VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? (values.help ? 'help' : undefined);
  if (command === 'help' || values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'hash') return hash(positionals[1], values);
  if (command === 'migrate') return migrate(positionals[1], values.yaml === true);
  if (command !== 'start') {
    process.stderr.write(`${command === undefined ? 'missing command' : `unknown command "${command}"`}\n\n${HELP}`);
    return 2;
  }

  const overrides: DeepstreamConfig = {};
  if (values.host !== undefined) overrides.host = values.host;
  if (values.port !== undefined) overrides.port = Number(values.port);
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'] as LevelWithSilent;

  let kernel: Kernel;
  try {
    const { config, baseDir, filepath, format, warnings } = await loadConfig({ path: values.config });
    kernel = new Kernel(config, { baseDir, overrides });
    if (format !== undefined) kernel.log.info({ config: filepath }, `config read as a ${format} config`);
    for (const warning of warnings) kernel.log.warn({ config: filepath }, warning);
  } catch (error) {
    process.stderr.write(`deepstream: ${describeError(error)}\n`);
    return 1;
  }
  try {
    await kernel.start();
  } catch (error) {
    kernel.log.fatal({ code: isDeepstreamError(error) ? error.code : undefined }, describeError(error));
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        kernel.log.warn({ signal }, 'second signal: exiting without waiting');
        return resolve(1);
      }
      stopping = true;
      kernel.log.info({ signal }, 'signal received');
      kernel.stop().then(
        () => resolve(0),
        (error: unknown) => {
          kernel.log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * `deepstream hash`: base64(PBKDF2(password, salt)) followed by the salt, the salt being base64 of
 * 16 random bytes (SECURITY §2.2). Only the hash goes to stdout, so it can be captured by a script.
 */
async function hash(password: string | undefined, flags: { algorithm?: string; iterations?: string; 'key-length'?: string }): Promise<number> {
  const algorithm = flags.algorithm ?? HASH_DEFAULTS.algorithm;
  const iterations = flags.iterations === undefined ? HASH_DEFAULTS.iterations : Number(flags.iterations);
  const keyLength = flags['key-length'] === undefined ? HASH_DEFAULTS.keyLength : Number(flags['key-length']);
  const problem = !getHashes().includes(algorithm)
    ? `--algorithm must be a digest Node knows (e.g. sha256, sha512), got "${algorithm}"`
    : !Number.isInteger(iterations) || iterations < 1
      ? `--iterations must be a positive integer, got "${flags.iterations}"`
      : !Number.isInteger(keyLength) || keyLength < 1
        ? `--key-length must be a positive integer, got "${flags['key-length']}"`
        : undefined;
  if (problem !== undefined) {
    process.stderr.write(`deepstream hash: ${problem}\n`);
    return 2;
  }
  const secret = password ?? (await readStdin()).replace(/\r?\n$/, '');
  if (secret === '') {
    process.stderr.write('deepstream hash: the password is empty\n');
    return 2;
  }
  const salt = randomBytes(16).toString('base64');
  const key = await promisify(pbkdf2)(secret, salt, iterations, keyLength, algorithm);
  process.stdout.write(`${key.toString('base64')}${salt}\n`);
  process.stderr.write(`PBKDF2 ${algorithm}, ${iterations} iterations, ${keyLength}-byte key: use the same hash, iterations and keyLength in the auth-file options\n`);
  return 0;
}

/** `deepstream migrate FILE [--yaml]`: the translation itself belongs to the package of the file's format. */
async function migrate(path: string | undefined, yaml: boolean): Promise<number> {
  if (path === undefined) {
    process.stderr.write('deepstream migrate: name the config file, e.g. deepstream migrate conf/config.yml\n');
    return 2;
  }
  try {
    process.stdout.write(await migrateConfig(path, yaml ? 'yaml' : 'ts'));
    return 0;
  } catch (error) {
    process.stderr.write(`deepstream migrate: ${describeError(error)}\n`);
    return 1;
  }
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

process.exitCode = await main(process.argv.slice(2));
// Plugins may leave handles open (timers, pools); a stopped server must still exit.
process.exit();
