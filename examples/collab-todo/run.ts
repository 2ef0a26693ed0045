/**
 * `npm run example`: the realtime server from the root deepstream.config.ts (port 6020 unless
 * DEEPSTREAM_PORT says otherwise) and the example's static server (port 8080, or EXAMPLE_PORT)
 * in one process. Ctrl-C stops both.
 */
import { fileURLToPath } from 'node:url';
import { Kernel, loadConfig } from '@deepstream-ts/core';
import { startStaticServer, type StaticServer } from './serve.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function main(): Promise<void> {
  const { config, baseDir } = await loadConfig({ searchFrom: root });
  const kernel = new Kernel(config, { baseDir });
  try {
    await kernel.start();
  } catch (error) {
    kernel.log.fatal({ err: error }, 'the realtime server did not start');
    process.exit(1);
  }
  let web: StaticServer;
  try {
    web = await startStaticServer({ port: Number(process.env.EXAMPLE_PORT ?? 8080), host: process.env.EXAMPLE_HOST ?? '127.0.0.1' });
  } catch (error) {
    kernel.log.fatal({ err: error }, 'the example page server did not start');
    await kernel.stop();
    process.exit(1);
  }

  const wsPort = kernel.address.port;
  // The page connects to port 6020 of the host it came from unless told otherwise.
  const base = `http://localhost:${web.port}/`;
  const page = wsPort === 6020 ? base : `${base}?server=${encodeURIComponent(`ws://localhost:${wsPort}${kernel.config.connection.path}`)}`;
  process.stdout.write(`\n  collab-todo: open ${page} in two browser windows (Ctrl-C stops both servers)\n\n`);

  let stopping: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    // `npm run` passes the terminal's Ctrl-C on as well, so one key press can arrive twice.
    if (stopping !== undefined) {
      if (Date.now() - stopping < 1000) return;
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    stopping = Date.now();
    kernel.log.info({ signal }, 'stopping the example');
    Promise.all([web.close(), kernel.stop()]).then(
      () => process.exit(0),
      (error: unknown) => {
        kernel.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
