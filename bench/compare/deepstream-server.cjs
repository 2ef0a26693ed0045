'use strict';
/**
 * Starts deepstream 7.0.2 (installed in bench/compare/node_modules, see package.json there) with a
 * configuration equivalent to the one bench/compare.ts gives our server: the binary WebSocket
 * endpoint only, at /deepstream on 127.0.0.1:<port>; open authentication (`none`); no permissions
 * (`none`, i.e. everything allowed); the default in-process cache and no-op storage (records live
 * in memory); log level WARN; no telemetry, no logo, no HTTP or MQTT endpoints.
 *
 *   node bench/compare/deepstream-server.cjs <port>
 *   node bench/compare/deepstream-server.cjs <port> <config.yml>
 *
 * With a config file (test/compat-*.test.ts), deepstream starts from that file instead, as
 * `deepstream start -c <config.yml> --host 127.0.0.1 --port <port>` would: its CLI hands host and
 * port over the same way.
 *
 * Plain CommonJS run by plain node, so that it resolves @deepstream/server from this directory's
 * node_modules and nothing from the workspace. Prints "listening <port>" once started.
 */
const { Deepstream } = require('@deepstream/server');

const port = Number(process.argv[2] || 6020);
const configFile = process.argv[3];
const endpointOptions = {
  urlPath: '/deepstream',
  heartbeatInterval: 30000,
  outgoingBufferTimeout: 0,
  maxBufferByteSize: 100000,
  headers: [],
  unauthenticatedClientTimeout: 180000,
  maxAuthAttempts: 3,
  logInvalidAuthData: false,
  maxMessageSize: 1048576,
};

if (configFile !== undefined) global.deepstreamCLI = { host: '127.0.0.1', port };
const server = configFile !== undefined ? new Deepstream(configFile) : new Deepstream({
  serverName: 'bench-deepstream',
  showLogo: false,
  logLevel: 2, // LOG_LEVEL.WARN; the std-out logger wants the number here
  exitOnFatalError: true,
  httpServer: {
    type: 'default',
    options: { host: '127.0.0.1', port, healthCheckPath: '/health-check', allowAllOrigins: true, origins: [], headers: [], maxMessageSize: 1048576 },
  },
  connectionEndpoints: [{ type: 'ws-binary', options: endpointOptions }],
  auth: [{ type: 'none', options: {} }],
  permission: { type: 'none', options: {} },
  telemetry: { type: 'deepstreamIO', options: { enabled: false } },
  monitoring: { type: 'none', options: {} },
  logger: { type: 'default', options: { colors: false, logLevel: 'WARN' } },
});
server.on('started', () => process.stdout.write(`listening ${port}\n`));
server.start();

const stop = () => {
  try {
    server.stop();
  } catch {}
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
