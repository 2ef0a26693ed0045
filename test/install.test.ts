/**
 * The packages as a user gets them (issue 16): every workspace package built and packed, installed
 * from the tarballs into a fresh project outside the repository, and run on plain Node with
 * `npx deepstream start`. In that project: a deepstream.config.yaml naming everything by package
 * name; the plugin template (templates/plugin), built, tested, packed and installed; a TypeScript
 * plugin made the way a newcomer would (`npm init`, `tsc --init`), which must type-check with zero
 * errors; a plugin in plain JavaScript; and a deepstream.config.ts. The official client drives
 * events and records through the installed server.
 *
 * Install scripts are skipped (`--ignore-scripts`): better-sqlite3 has no prebuilt binary here and
 * compiles for three minutes on two cores. Nothing started here uses it; storage-sqlite is packed
 * and installed like every other package, and its own tests run it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import { freePort } from './services/real-servers.ts';
import { repositoryRoot } from './helpers/cli-server.ts';

const execute = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'deepstream-ts-install-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const app = join(work, 'app');
const started = Date.now();

/** The environment of a user's shell: no loader flags or conditions inherited from this test run. */
const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  // Not npm's own variables either (under `npm test` they describe this repository, not the app).
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  Object.assign(env, { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT; // set by the test runner; a child `node --test` would report to us in its binary form
  return env;
};

async function sh(cwd: string, command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execute(command, args, { cwd, env: userEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} in ${cwd} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

const write = (path: string, text: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
};

/** `npm pack` in `cwd`; returns the tarball names and sizes npm reports. */
async function pack(cwd: string, args: string[]): Promise<Array<{ name: string; filename: string; size: number; unpackedSize: number }>> {
  return JSON.parse(await sh(cwd, 'npm', ['pack', '--json', '--pack-destination', tarballs, ...args])) as Array<{ name: string; filename: string; size: number; unpackedSize: number }>;
}

interface Server {
  child: ChildProcess;
  port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/** `npx deepstream start ...` in the app, resolved once it logs that it is ready. */
async function start(args: string[]): Promise<Server> {
  const port = await freePort();
  // Its own process group, so that the signal reaches npx and the server alike, as Ctrl-C would.
  const child = spawn('npx', ['deepstream', 'start', '--port', String(port), ...args], { cwd: app, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close': every process holding the output pipes (npx and the server) has exited.
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000);
    timer.unref();
    child.stdout!.on('data', () => {
      if (output.includes('deepstream-ts is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return {
    child,
    port,
    output: () => output,
    stop: () => {
      process.kill(-child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

/** Subscribes `listener` to `name` and emits from `sender` until it hears (the client batches subscriptions). */
async function roundTrip(listener: DeepstreamClient, sender: DeepstreamClient, name: string, data: Parameters<DeepstreamClient['event']['emit']>[1]): Promise<unknown> {
  const heard = new Promise((resolve) => listener.event.subscribe(name, resolve));
  for (let i = 0; i < 50; i++) {
    sender.event.emit(name, data);
    const got = await Promise.race([heard, new Promise((resolve) => setTimeout(resolve, 100, NOTHING))]);
    if (got !== NOTHING) return got;
  }
  throw new Error(`event ${name} never arrived`);
}
const NOTHING = Symbol('nothing');

async function login(port: number, username: string): Promise<DeepstreamClient> {
  const client = new DeepstreamClient(`ws://127.0.0.1:${port}/deepstream`);
  await client.login({ username });
  return client;
}

/** What a newcomer writes: a typed plugin using the options schema and the context. */
const NEWCOMER_PLUGIN = `import { Type, definePlugin } from '@deepstream-ts/core';

export default definePlugin({
  package: import.meta.url,
  options: Type.Object({ answer: Type.Integer({ default: 42 }) }),
  setup(ctx) {
    const answer: number = ctx.options.answer;
    ctx.http.add('/newcomer', (_request, response) => {
      response.end(String(answer));
    });
  },
});
`;

/** The same in plain JavaScript, no build step. */
const JS_PLUGIN = `import { definePlugin } from '@deepstream-ts/core';

let logins = 0;
export default definePlugin({
  package: import.meta.url,
  setup(ctx) {
    ctx.hooks.authenticated.tap(ctx.name, () => logins++);
    ctx.http.add('/js', (_request, response) => response.end(String(logins)));
  },
});
`;

describe('the packages installed from tarballs into a fresh project', { timeout: 240_000 }, () => {
  const sizes: string[] = [];
  let hello: string;

  before(async () => {
    await sh(repositoryRoot, process.execPath, ['scripts/build.mjs']);
    // Every workspace, read from the root package.json by npm itself: new packages need no entry here.
    for (const packed of await pack(repositoryRoot, ['--workspaces', '--ignore-scripts'])) {
      sizes.push(`${packed.name}: ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked`);
    }
    const tgz = (name: string) => join(tarballs, `${name.replace('@', '').replace('/', '-')}-0.1.0.tgz`);

    mkdirSync(app);
    await sh(app, 'npm', ['init', '-y']);
    await sh(app, 'npm', ['pkg', 'set', 'type=module']); // for deepstream.config.ts (README: Install)
    // A newcomer's TypeScript plugin: npm init, then tsc --init (strict, module nodenext by default).
    const newcomer = join(app, 'newcomer');
    mkdirSync(newcomer);
    await sh(newcomer, 'npm', ['init', '-y']);
    await sh(newcomer, 'npm', ['pkg', 'set', 'name=newcomer-plugin', 'type=module', 'main=index.js', 'peerDependencies.@deepstream-ts/core=^0.1.0']);
    write(join(newcomer, 'index.ts'), NEWCOMER_PLUGIN);
    const js = join(app, 'js-plugin');
    mkdirSync(js);
    await sh(js, 'npm', ['init', '-y']);
    await sh(js, 'npm', ['pkg', 'set', 'name=js-plugin', 'type=module', 'main=index.js', 'peerDependencies.@deepstream-ts/core=^0.1.0']);
    write(join(js, 'index.js'), JS_PLUGIN);
    // The template, copied as its README says, its devDependencies on our packages pointed at the tarballs.
    const template = join(app, 'hello');
    cpSync(join(repositoryRoot, 'templates/plugin'), template, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)$/.test(path) });
    const manifest = JSON.parse(readFileSync(join(template, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const name of Object.keys(manifest.devDependencies)) if (name.startsWith('@deepstream-ts/')) manifest.devDependencies[name] = `file:${tgz(name)}`;
    writeFileSync(join(template, 'package.json'), JSON.stringify(manifest, null, 2));

    const ours = readdirSync(tarballs).map((file) => join(tarballs, file));
    await sh(app, 'npm', ['install', '--ignore-scripts', '--prefer-offline', ...ours, 'typescript@^5.9.3', '@types/node@^20', './newcomer', './js-plugin']);
    await sh(newcomer, process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '--init']);
    await sh(template, 'npm', ['install', '--ignore-scripts', '--prefer-offline']);
    const [packedHello] = await pack(template, []);
    hello = join(tarballs, packedHello!.filename);
    sizes.push(`${packedHello!.name} (the template): ${(packedHello!.size / 1024).toFixed(1)} kB packed`);
    await sh(app, 'npm', ['install', '--ignore-scripts', '--prefer-offline', hello]);
  });

  after(() => {
    console.log(`# install test: ${((Date.now() - started) / 1000).toFixed(1)} s; tarballs:\n${sizes.map((line) => `#   ${line}`).join('\n')}`);
    if (process.env.INSTALL_TEST_KEEP === undefined) rmSync(work, { recursive: true, force: true });
    else console.log(`# kept ${work}`);
  });

  it('ships JavaScript and declarations, never the sources', async () => {
    const files = await sh(app, 'ls', ['node_modules/@deepstream-ts/core', 'node_modules/@deepstream-ts/core/dist']);
    assert.match(files, /index\.js/);
    assert.match(files, /index\.d\.ts/);
    assert.doesNotMatch(files, /^src$/m);
  });

  it("type-checks a newcomer's TypeScript plugin with zero errors (tsc --init defaults)", async () => {
    const output = await sh(join(app, 'newcomer'), process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '--pretty', 'false']);
    assert.equal(output, '', 'no diagnostics');
  });

  it('the template plugin passes its own tests against the installed kernel', async () => {
    const output = await sh(join(app, 'hello'), 'npm', ['test']);
    assert.match(output, /# fail 0/);
  });

  it('starts with npx deepstream start on a YAML config naming packages, and serves events and records', async () => {
    write(
      join(app, 'deepstream.config.yaml'),
      [
        'plugins:',
        '  - "@deepstream-ts/plugin-auth-open"',
        '  - "@deepstream-ts/plugin-events"',
        '  - use: "@deepstream-ts/cache-memory"',
        '    options: { maxRecords: 1000 }',
        '  - "@deepstream-ts/plugin-records"',
        '  - use: deepstream-plugin-hello',
        '    options: { greeting: installed }',
        '  - newcomer-plugin',
        '  - js-plugin',
        '',
      ].join('\n'),
    );
    // No TypeScript loader can be involved: tsx, core's optional dependency, is moved away meanwhile.
    renameSync(join(app, 'node_modules/tsx'), join(app, 'tsx-away'));
    const server = await start(['--config', 'deepstream.config.yaml']).finally(() => renameSync(join(app, 'tsx-away'), join(app, 'node_modules/tsx')));
    const [ada, bob] = [await login(server.port, 'ada'), await login(server.port, 'bob')];
    try {
      assert.deepEqual(await roundTrip(ada, bob, 'news', { from: 'bob' }), { from: 'bob' });

      await bob.record.setDataWithAck('doc/1', { title: 'installed' });
      const record = ada.record.getRecord('doc/1');
      await record.whenReady();
      assert.deepEqual(record.get(), { title: 'installed' });

      const base = `http://127.0.0.1:${server.port}`;
      assert.deepEqual(await (await fetch(`${base}/hello`, { method: 'DELETE' })).json(), { greeting: 'installed', method: 'DELETE', logins: 2 });
      assert.equal(await (await fetch(`${base}/newcomer`)).text(), '42');
      assert.equal(await (await fetch(`${base}/js`)).text(), '2');
    } finally {
      ada.close();
      bob.close();
      await server.stop();
      assert.match(server.output(), /"msg":"stopped"/, server.output());
      assert.doesNotMatch(server.output(), /"level":50/, 'no errors logged');
    }
  });

  it('loads a deepstream.config.ts (tsx, the optional dependency, only for that file)', async () => {
    write(
      join(app, 'deepstream.config.ts'),
      `import { defineConfig, type DeepstreamConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';

const plugins: DeepstreamConfig['plugins'] = [authOpen, events, 'deepstream-plugin-hello'];
export default defineConfig({ plugins });
`,
    );
    // Without tsx: a clear error saying what to install, not a stack trace.
    renameSync(join(app, 'node_modules/tsx'), join(app, 'tsx-away'));
    const refused = await start(['--config', 'deepstream.config.ts']).then(
      (server) => server.stop().then(() => 'started'),
      (error: Error) => error.message,
    );
    renameSync(join(app, 'tsx-away'), join(app, 'node_modules/tsx'));
    assert.match(refused, /exited with 1: deepstream: DS_CONFIG_INVALID: .*needs tsx.*npm install tsx/);

    const server = await start(['--config', 'deepstream.config.ts']);
    const [ada, bob] = [await login(server.port, 'ada'), await login(server.port, 'bob')];
    try {
      assert.equal(await roundTrip(ada, bob, 'typed', 1), 1);
      assert.equal((await (await fetch(`http://127.0.0.1:${server.port}/hello`)).json() as { greeting: string }).greeting, 'hello');
    } finally {
      ada.close();
      bob.close();
      await server.stop();
      assert.match(server.output(), /"msg":"stopped"/, server.output());
      assert.doesNotMatch(server.output(), /"level":50/, 'no errors logged');
    }
  });
});
