/**
 * Throwaway PostgreSQL and Redis servers for tests: each on a free port, in a temporary
 * directory, stopped by the test that started it. scripts/ensure-services.sh installs the Debian
 * packages before the suite when they are missing; where that was impossible, `start*` returns a
 * skip reason instead of a server. An explicit POSTGRES_URL / REDIS_URL is used as it is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, chownSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where servers keep their files; scripts/test.sh sets it so that it can clean up after a crash. */
const ROOT = process.env.DS_TEST_SERVICES_DIR ?? tmpdir();

export interface Skip {
  skip: string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

// ---- Redis -------------------------------------------------------------------------------

const redisBinary = () => ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((b) => spawnSync(b, ['--version']).status === 0);
const redisCliBinary = () => ['redis-cli', '/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find((b) => spawnSync(b, ['--version']).status === 0);

/** One redis-cli command against a local port; its output, or the error it printed. */
function redisCli(cli: string, port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')}: ${out}`))));
  });
}

/** A local redis-server process that can be killed and started again with the same files. */
function redisProcess(binary: string, port: number, args: string[]) {
  let child: ChildProcess | undefined;
  return {
    async launch() {
      child = spawn(binary, args, { stdio: 'ignore' });
      if (!(await waitForPort(port, 10_000))) throw new Error(`redis-server did not start on port ${port}`);
    },
    kill: () => void child?.kill('SIGKILL'),
    async stop() {
      const exited = child?.exitCode === null && child.signalCode === null ? new Promise((resolve) => child!.once('exit', resolve)) : undefined;
      child?.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** kill -9: the server vanishes mid-test. */
  kill(): void;
  /** Starts it again on the same port (after `kill`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer | Skip> {
  if (process.env.REDIS_URL) return external(process.env.REDIS_URL);
  const binary = redisBinary();
  if (binary === undefined) return { skip: 'redis-server is not installed and could not be installed (see scripts/ensure-services.sh)' };
  const port = await freePort();
  const dir = mkdtempSync(join(ROOT, 'ds-redis-'));
  const server = redisProcess(binary, port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await server.launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: server.kill,
    restart: server.launch,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function external(url: string): RedisServer {
  const port = Number(new URL(url).port || 6379);
  const refuse = () => {
    throw new Error('cannot kill or restart a server this test did not start');
  };
  return { url, port, kill: refuse, restart: async () => refuse(), stop: async () => undefined };
}

// ---- PostgreSQL --------------------------------------------------------------------------

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  kill(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(base, v, 'bin')).find((dir) => existsSync(join(dir, 'postgres')));
}

export async function startPostgres(): Promise<PostgresServer | Skip> {
  if (process.env.POSTGRES_URL) {
    const url = process.env.POSTGRES_URL;
    return { ...external(url), port: Number(new URL(url).port || 5432) };
  }
  const bin = postgresBin();
  if (bin === undefined) return { skip: 'PostgreSQL is not installed and could not be installed (see scripts/ensure-services.sh)' };
  // PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }) : undefined;
  if (asRoot && owner?.status !== 0) return { skip: 'running as root and there is no postgres user to run PostgreSQL as' };
  const uid = asRoot ? Number(owner!.stdout.trim()) : undefined;
  const gid = asRoot ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : undefined;
  const run = (args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', ...args]] as const : [args[0]!, args.slice(1)] as const);

  const port = await freePort();
  const dir = mkdtempSync(join(ROOT, 'ds-postgres-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  if (asRoot) {
    chownSync(dir, uid!, gid!);
    chownSync(data, uid!, gid!);
  }
  const [initCmd, initArgs] = run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) return { skip: `initdb failed: ${init.stderr || init.stdout}` };
  writeFileSync(join(dir, '.keep'), '');

  let child: ChildProcess | undefined;
  const launch = async () => {
    const [cmd, args] = run([join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off']);
    child = spawn(cmd, args, { stdio: 'ignore' });
    if (!(await waitForPort(port, 20_000))) throw new Error(`postgres did not start on port ${port}`);
    // Accepting TCP is not accepting queries: wait until the server is ready.
    for (let i = 0; i < 100; i++) {
      const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
      if (ready.status === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  // An immediate shutdown drops every connection at once, like a crash, and leaves the data
  // directory ready to start again (a SIGKILL would leave backends holding shared memory).
  const killNow = () => {
    const [cmd, args] = run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd, args, { stdio: 'ignore' });
    child?.kill('SIGKILL');
  };
  await launch();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    kill: killNow,
    restart: launch,
    async stop() {
      killNow();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const isSkip = (value: unknown): value is Skip => typeof value === 'object' && value !== null && 'skip' in value;

// ---- Redis Cluster and Sentinel ----------------------------------------------------------

export interface RedisClusterServer {
  /** Seed URLs, one per master: `redis://127.0.0.1:port`. */
  readonly nodes: string[];
  readonly ports: number[];
  /** kill -9 of one master: its shard vanishes (there are no replicas). */
  kill(index: number): void;
  /** Starts that master again on its port with its cluster state; resolves once the cluster is ok again. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters and no replicas, slots split evenly. Assigning the slots
 * and introducing the nodes by hand (CLUSTER ADDSLOTSRANGE / MEET) is what `redis-cli --cluster
 * create` does, without its fixed waits: about 2 s, most of it the delay a fresh master waits before
 * it declares the cluster ok.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServer | Skip> {
  const binary = redisBinary();
  const cli = redisCliBinary();
  if (binary === undefined || cli === undefined) return { skip: 'redis-server / redis-cli are not installed and could not be installed (see scripts/ensure-services.sh)' };
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: both must be free.
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  const dir = mkdtempSync(join(ROOT, 'ds-redis-cluster-'));
  const servers = ports.map((port) => {
    const data = join(dir, String(port));
    mkdirSync(data);
    // A node timeout of 5 s: a loaded test machine does not make the nodes suspect each other,
    // and a master restarted within it is back without ever being marked failed.
    return redisProcess(binary, port, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', data,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000',
    ]);
  });
  const clusterOk = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(ports.map((port) => redisCli(cli, port, 'cluster', 'info').catch(() => '')));
      if (states.every((info) => info.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${ports.join(', ')} did not come up: ${states.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await Promise.all(servers.map((server) => server.launch()));
    const per = Math.ceil(16384 / masters);
    await Promise.all(ports.map((port, i) => redisCli(cli, port, 'cluster', 'addslotsrange', String(i * per), String(Math.min(16383, (i + 1) * per - 1)))));
    await Promise.all(ports.slice(1).map((port) => redisCli(cli, ports[0]!, 'cluster', 'meet', '127.0.0.1', String(port))));
    await clusterOk(20_000);
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    ports,
    kill: (index) => servers[index]!.kill(),
    async restart(index) {
      await servers[index]!.launch();
      await clusterOk(40_000);
    },
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisSentinelServer {
  /** Where the sentinel listens: what a client is configured with. */
  readonly sentinels: Array<{ host: string; port: number }>;
  /** The monitored master group's name. */
  readonly name: string;
  /** The master itself (kill / restart it to see clients reconnect through the sentinel). */
  readonly master: RedisServer;
  /** With `replica`: a replica of the master, which the sentinel promotes once the master is gone. */
  readonly replicaPort: number | undefined;
  /** The port of the master the sentinel names now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One Redis master and one sentinel monitoring it (quorum 1); with `replica`, also a replica in
 * sync that the sentinel knows of, so that killing the master makes the sentinel fail over to it
 * (down after 1 s).
 */
export async function startRedisSentinel(name = 'dsmaster', { replica = false } = {}): Promise<RedisSentinelServer | Skip> {
  const binary = redisBinary();
  const cli = redisCliBinary();
  if (binary === undefined || cli === undefined) return { skip: 'redis-server / redis-cli are not installed and could not be installed (see scripts/ensure-services.sh)' };
  const master = await startRedis();
  if (isSkip(master)) return master;
  const port = await freePort();
  const dir = mkdtempSync(join(ROOT, 'ds-redis-sentinel-'));
  const replicaPort = replica ? await freePort() : undefined;
  const replicaServer = replicaPort === undefined ? undefined : redisProcess(binary, replicaPort, ['--port', String(replicaPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--replicaof', '127.0.0.1', String(master.port)]);
  // The sentinel rewrites its configuration file: it must be its own and writable.
  const config = join(dir, 'sentinel.conf');
  writeFileSync(config, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
    '',
  ].join('\n'));
  const sentinel = redisProcess(binary, port, [config, '--sentinel']);
  const poll = async (what: string, ok: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await ok().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`the Redis Sentinel setup did not come up: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    if (replicaServer !== undefined) {
      await replicaServer.launch();
      await poll('the replica in sync', async () => (await redisCli(cli, replicaPort!, 'info', 'replication')).includes('master_link_status:up'));
    }
    // Started after the replica is in sync: its first look at the master lists the replica.
    await sentinel.launch();
    if (replicaServer !== undefined) await poll('the sentinel knows the replica', async () => (await redisCli(cli, port, 'sentinel', 'replicas', name)).includes(String(replicaPort)));
  } catch (error) {
    await Promise.all([sentinel.stop(), replicaServer?.stop(), master.stop()]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    sentinels: [{ host: '127.0.0.1', port }],
    name,
    master,
    replicaPort,
    masterPort: async () => Number((await redisCli(cli, port, 'sentinel', 'get-master-addr-by-name', name)).trim().split('\n')[1]),
    async stop() {
      await Promise.all([sentinel.stop(), replicaServer?.stop()]);
      await master.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
