/**
 * Every code block in README.md is run, or compared with the tested file it comes from. Each block
 * is announced by a comment on the line before it, `<!-- tested: KIND [ARG] -->`:
 *
 * - `file PATH`        the block is that file's text (the file is tested elsewhere)
 * - `config`           a deepstream.config.ts / .yaml: loaded, and a server started from it
 * - `config-resolve`   a config that needs outside servers (Redis, PostgreSQL, a JWKS URL): loaded,
 *                      kernel settings and every plugin's options checked, nothing started
 * - `client`           official-client code run against a server (`client`, `provider`, `backend`);
 *                      a blank line separates what different processes do, so it pauses there
 * - `curl`             each request sent to a server with the HTTP API; each must succeed
 * - `permissions`      a permissions.yml, compiled by a server with the Valve plugin
 * - `commands`         shell lines: npm scripts must exist, `npx deepstream` lines (but start) run
 * - `usage`            CLI synopsis lines: each command and flag must be in `deepstream --help`
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import yaml from 'js-yaml';
import { Kernel, loadConfig, resolveConfig } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import listening from '@deepstream-ts/plugin-listening';
import httpApi from '@deepstream-ts/plugin-http-api';
import valve from '@deepstream-ts/plugin-permissions-valve';
import { resolvePlugins } from '../core/src/plugins/resolve.ts';
import { repositoryRoot } from './helpers/cli-server.ts';

const run = promisify(execFile);
const README = readFileSync(join(repositoryRoot, 'README.md'), 'utf8').split('\n');

interface Block {
  line: number;
  lang: string;
  kind: string;
  arg: string;
  text: string;
}

function blocks(): Block[] {
  const found: Block[] = [];
  for (let i = 0; i < README.length; i++) {
    const open = /^```(\S*)\s*$/.exec(README[i]!);
    if (open === null) continue;
    const end = README.findIndex((line, j) => j > i && line.startsWith('```'));
    const marker = /^<!-- tested: (\S+)\s*(.*?)\s*-->$/.exec(README[i - 1] ?? '');
    found.push({ line: i + 1, lang: open[1]!, kind: marker?.[1] ?? '', arg: marker?.[2] ?? '', text: README.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return found;
}

const temporary: string[] = [];
/** A directory outside the repository that resolves our packages as an installed project would. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deepstream-ts-readme-'));
  symlinkSync(join(repositoryRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  temporary.push(dir);
  return dir;
}

async function withServer(test: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ plugins: [authOpen, events, records, rpc, presence, listening, httpApi] });
  try {
    await test(server);
  } finally {
    await server.stop();
  }
}

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;

const KINDS: Record<string, (block: Block) => Promise<void>> = {
  async file({ arg, text }) {
    assert.equal(text, readFileSync(join(repositoryRoot, arg), 'utf8'), `the block is ${arg}, unchanged`);
  },

  async config({ lang, text }) {
    const dir = project();
    const path = join(dir, `deepstream.config.${lang === 'ts' ? 'ts' : 'yaml'}`);
    writeFileSync(path, text);
    const { config, baseDir } = await loadConfig({ path });
    const kernel = new Kernel(config, { baseDir, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent' } });
    await kernel.start();
    await kernel.stop();
  },

  async 'config-resolve'({ lang, text }) {
    const dir = project();
    const path = join(dir, `deepstream.config.${lang === 'ts' ? 'ts' : 'yaml'}`);
    writeFileSync(path, text);
    const env = { POSTGRES_URL: 'postgres://ds:secret@127.0.0.1:5432/ds', REDIS_URL: 'redis://127.0.0.1:6379', NODE_NAME: 'node-a' };
    Object.assign(process.env, env);
    try {
      const { config, baseDir } = await loadConfig({ path });
      resolveConfig(config, { baseDir });
      const plugins = await resolvePlugins(config.plugins ?? [], baseDir);
      assert.ok(plugins.length >= (config.plugins?.length ?? 0), 'every listed plugin resolves');
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }
  },

  async client({ text }) {
    await withServer(async (server) => {
      const code = text
        .replace(/^import .*$/gm, '')
        .replaceAll('ws://127.0.0.1:6020/deepstream', server.url)
        .replace(/\n\n/g, '\nawait new Promise((resolve) => setTimeout(resolve, 200));\n');
      const timers: NodeJS.Timeout[] = [];
      const opened: DeepstreamClient[] = [];
      // Clients the code makes itself are closed afterwards too.
      class Client extends DeepstreamClient {
        constructor(url: string) {
          super(url);
          opened.push(this);
        }
      }
      const given: Record<string, unknown> = {
        DeepstreamClient: Client,
        console: { log() {} },
        quote: () => 42,
        setInterval: (fn: () => void, ms: number) => timers.push(setInterval(fn, ms)) && timers.at(-1),
      };
      for (const name of ['client', 'provider', 'backend']) {
        if (new RegExp(`\\b(const|let) ${name}\\b`).test(code)) continue;
        const client = new DeepstreamClient(server.url);
        await client.login({ username: name });
        opened.push(client);
        given[name] = client;
      }
      try {
        const body = new AsyncFunction(...Object.keys(given), code);
        await Promise.race([body(...Object.values(given)), new Promise((_, reject) => setTimeout(() => reject(new Error('did not finish in 5 s')), 5000).unref())]);
      } finally {
        for (const timer of timers) clearInterval(timer);
        for (const client of opened) client.close();
      }
    });
  },

  async curl({ text }) {
    await withServer(async (server) => {
      const requests = text.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.startsWith('curl '));
      assert.ok(requests.length > 0);
      for (const request of requests) {
        const url = /\slocalhost:6020(\/\S*)/.exec(request)![1]!;
        const body = /-d '([^']*)'/.exec(request)![1]!;
        const reply = await fetch(`http://127.0.0.1:${server.port}${url}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
        assert.equal(reply.status, 200, request);
        assert.equal(((await reply.json()) as { result: string }).result, 'SUCCESS', request);
      }
    });
  },

  async permissions({ text }) {
    const rules = yaml.load(text) as Record<string, unknown>;
    const server = await startTestServer({ plugins: [authOpen, events, records, rpc, presence, valve.with({ permissions: rules })] });
    await server.stop();
  },

  async commands({ text }) {
    const scripts = (JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const dir = project();
    writeFileSync(join(dir, 'deepstream.config.yaml'), 'plugins:\n  - use: "@deepstream-ts/plugin-auth-file"\n    options: { users: {} }\n');
    for (const line of text.split('\n')) {
      for (const command of line.replace(/\s#\s.*$/, '').split('&&').map((part) => part.trim()).filter(Boolean)) {
        const words = command.match(/'[^']*'|\S+/g)!.map((word) => word.replace(/^'(.*)'$/, '$1'));
        if (words[0] === 'npm' && words[1] === 'run') assert.ok(scripts[words[2]!] !== undefined, `npm run ${words[2]}: no such script`);
        else if (words[0] === 'npm') assert.ok(['init', 'pkg', 'install', 'ci', 'test', 'start'].includes(words[1]!), command);
        else if (words[0] === 'npx' && words[1] === 'deepstream') {
          if (words[2] === 'start') continue; // started by the config and install tests
          const { stdout } = await run(process.execPath, [join(repositoryRoot, 'core/bin/deepstream.js'), ...words.slice(2)], { cwd: dir });
          assert.notEqual(stdout.trim(), '', command);
        } else assert.fail(`${command}: not a command this test knows`);
      }
    }
  },

  async usage({ text }) {
    const { stdout: help } = await run(process.execPath, ['core/bin/deepstream.js', '--help'], { cwd: repositoryRoot });
    for (const line of text.split('\n').filter(Boolean)) {
      const [npx, name, command, ...rest] = line.split(/\s+/);
      assert.equal(`${npx} ${name}`, 'npx deepstream', line);
      assert.ok(help.includes(command!.startsWith('--') ? command! : `deepstream ${command}`), `${command} is in --help`);
      for (const flag of rest.join(' ').match(/--[a-z-]+/g) ?? []) assert.ok(help.includes(flag), `${flag} is in --help`);
    }
  },
};

describe('README.md code blocks', () => {
  after(() => {
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  });

  it('each says how it is tested', () => {
    const unmarked = blocks().filter((block) => KINDS[block.kind] === undefined);
    assert.deepEqual(unmarked.map((block) => `README.md:${block.line} (${block.kind || 'no <!-- tested: --> comment'})`), []);
  });

  for (const block of blocks()) {
    if (KINDS[block.kind] === undefined) continue;
    it(`README.md:${block.line} (${block.kind}${block.arg ? ` ${block.arg}` : ''})`, () => KINDS[block.kind]!(block));
  }
});
