import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
}

/** pino, JSON for machines; on a terminal, one readable line per entry. */
export function createLogger({ level, destination, pretty = destination === undefined && process.stdout.isTTY === true }: LoggerOptions): Logger {
  const options = { level, base: undefined, redact: { paths: ['password', '*.password', 'authData', 'token', '*.token'], censor: '[redacted]' } };
  if (pretty) return pino(options, prettyStream(process.stdout));
  return destination === undefined ? pino(options) : pino(options, destination);
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/**
 * A few lines instead of the pino-pretty dependency: terminals only, never on a hot path, and the
 * JSON output stays the format for everything that is not a human.
 */
function prettyStream(out: NodeJS.WriteStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        try {
          const { level, time, msg, plugin, err, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const [name, color] = LEVELS[level as number] ?? ['?', ''];
          const clock = new Date(time as number).toISOString().slice(11, 23);
          const scope = plugin === undefined ? '' : ` ${DIM}[${String(plugin)}]${RESET}`;
          const extras = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
          const stack = err !== undefined ? `\n${(err as { stack?: string }).stack ?? JSON.stringify(err)}` : '';
          out.write(`${DIM}${clock}${RESET} ${color}${name}${RESET}${scope} ${String(msg ?? '')}${extras ? ` ${DIM}${extras}${RESET}` : ''}${stack}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}
