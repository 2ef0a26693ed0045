import { parseArgs } from 'node:util';
import { Kernel } from './kernel.ts';
import { loadConfig } from './config/load.ts';
import { isDeepstreamError, describeError } from './errors.ts';
import { KERNEL_VERSION } from './version.ts';
import type { DeepstreamConfig } from './config/options.ts';
import type { LevelWithSilent } from 'pino';

const HELP = `deepstream-ts ${KERNEL_VERSION}: a realtime server for the deepstream v7 protocol

Usage:
  deepstream start [options]   start the server
  deepstream --version         print the version
  deepstream --help            print this help

Options for start:
  -c, --config PATH     config file (default: deepstream.config.{ts,mjs,js,json,yaml,yml} in the working directory)
      --host HOST       interface to listen on (default 0.0.0.0; env DEEPSTREAM_HOST)
  -p, --port PORT       port for WebSocket and HTTP (default 6020; env DEEPSTREAM_PORT)
      --log-level LEVEL fatal|error|warn|info|debug|trace|silent (env DEEPSTREAM_LOG_LEVEL)
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
    const { config, baseDir } = await loadConfig({ path: values.config });
    kernel = new Kernel(config, { baseDir, overrides });
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

process.exitCode = await main(process.argv.slice(2));
// Plugins may leave handles open (timers, pools); a stopped server must still exit.
process.exit();
