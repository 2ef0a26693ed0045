import { parseArgs } from 'node:util';
import { Kernel } from './kernel.ts';
import { loadConfig, migrateConfig } from './config/load.ts';
import { isDeepstreamError, describeError } from './errors.ts';
import { KERNEL_VERSION } from './version.ts';
import { findCommand, installedCommands } from './plugins/commands.ts';
import type { DeepstreamConfig } from './config/options.ts';
import type { LevelWithSilent } from 'pino';

/** A subcommand of the kernel's own: `deepstream <name> ...args`, resolving to the exit code. */
interface Command {
  readonly usage: string;
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

/** The kernel's commands. Any other name is looked up among the plugins (plugins/commands.ts). */
const COMMANDS: Record<string, Command> = {
  start: { usage: 'start [options]', summary: 'start the server', run: start },
  migrate: { usage: 'migrate FILE [--yaml]', summary: "print another server's config (deepstream 7's config.yml) as ours", run: migrate },
};

const START_OPTIONS = `Options for start:
  -c, --config PATH     config file (default: deepstream.config.{ts,mjs,js,json,yaml,yml} in the working directory)
      --host HOST       interface to listen on (default 0.0.0.0; env DEEPSTREAM_HOST)
  -p, --port PORT       port for WebSocket and HTTP (default 6020; env DEEPSTREAM_PORT)
      --log-level LEVEL fatal|error|warn|info|debug|trace|silent (env DEEPSTREAM_LOG_LEVEL)
`;

function help(): string {
  const line = (usage: string, summary: string) => `  deepstream ${usage.padEnd(22)} ${summary}\n`;
  const own = Object.values(COMMANDS).map((command) => line(command.usage, command.summary));
  const fromPlugins = installedCommands(process.cwd()).map((c) => line(`${c.command} ...`, `${c.summary} (${c.package})`));
  return `deepstream-ts ${KERNEL_VERSION}: a realtime server for the deepstream v7 protocol

Usage:
${own.join('')}${fromPlugins.join('')}  deepstream --version              print the version
  deepstream --help                 print this help

${START_OPTIONS}
Plugins add commands; with --config (or a deepstream.config.* here) a plugin's command runs with
the options that config gives the plugin, else with the plugin's defaults.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${KERNEL_VERSION}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) process.stderr.write(`missing command\n\n${help()}`);
    else process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const own = COMMANDS[name];
  if (own !== undefined) return own.run(args);
  return pluginCommand(name, args);
}

/** `deepstream <name>` for a command a plugin adds: `--config PATH` is the CLI's, the rest the command's. */
async function pluginCommand(name: string, argv: string[]): Promise<number> {
  const args = [...argv];
  let configPath: string | undefined;
  const at = args.findIndex((arg) => arg === '--config' || arg === '-c' || arg.startsWith('--config='));
  if (at >= 0) {
    const arg = args[at]!;
    configPath = arg.startsWith('--config=') ? arg.slice('--config='.length) : args[at + 1];
    args.splice(at, arg.startsWith('--config=') ? 1 : 2);
    if (configPath === undefined || configPath === '') {
      process.stderr.write(`deepstream ${name}: --config needs a path\n`);
      return 2;
    }
  }
  let found;
  try {
    found = await findCommand(name, configPath, process.cwd());
  } catch (error) {
    process.stderr.write(`deepstream ${name}: ${describeError(error)}\n`);
    return 1;
  }
  if (found === undefined) {
    process.stderr.write(`unknown command "${name}"${configPath === undefined ? '' : ` (no plugin in ${configPath} adds it)`}\n\n${help()}`);
    return 2;
  }
  return found.command.run({ args, options: found.options, config: found.config });
}

async function start(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n\n${START_OPTIONS}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(help());
    return 0;
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
 * `deepstream migrate FILE [--yaml]`: prints the equivalent `deepstream.config.ts` (or our YAML form)
 * with a comment for each dropped key. The translation belongs to the package of the file's format.
 */
async function migrate(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { yaml: { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`deepstream migrate: ${describeError(error)}\n`);
    return 2;
  }
  const path = parsed.positionals[0];
  if (path === undefined) {
    process.stderr.write('deepstream migrate: name the config file, e.g. deepstream migrate conf/config.yml\n');
    return 2;
  }
  try {
    process.stdout.write(await migrateConfig(path, parsed.values.yaml === true ? 'yaml' : 'ts'));
    return 0;
  } catch (error) {
    process.stderr.write(`deepstream migrate: ${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// Plugins may leave handles open (timers, pools); a stopped server must still exit.
process.exit();
