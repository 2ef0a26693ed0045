'use strict';
/**
 * deepstream 7.0.2 itself, started from a config file exactly as `deepstream start -c FILE --port
 * PORT` would (its CLI passes host and port the same way), for tests that compare it with us:
 *
 *   node test/helpers/deepstream-7.cjs <config.yml> <port>
 *
 * It comes from bench/compare/node_modules (npm install --prefix bench/compare). Prints
 * "listening <port>" once started.
 */
const { join } = require('node:path');
const { Deepstream } = require(join(__dirname, '..', '..', 'bench', 'compare', 'node_modules', '@deepstream', 'server'));

const [configPath, port] = process.argv.slice(2);
global.deepstreamCLI = { host: '127.0.0.1', port: Number(port) };
const server = new Deepstream(configPath);
server.on('started', () => process.stdout.write(`listening ${port}\n`));
server.start();

const stop = () => {
  try {
    server.stop();
  } catch {}
  setTimeout(() => process.exit(0), 300).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
