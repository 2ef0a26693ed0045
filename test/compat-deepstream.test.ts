/**
 * Coming from deepstream (issue 17): deepstream 7.0.2's own conf/ (config.yml, users.yml,
 * permissions.yml), unchanged, starts our server; the official client logs in as its users, and
 * its permission rules, records, events, RPC and presence behave as they do on deepstream 7.0.2
 * itself, started from the same files: each scenario runs against both and the outcomes must be
 * equal. deepstream 7.0.2 comes from bench/compare (installed when missing; without it the
 * comparisons are skipped with the reason, the rest still runs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DeepstreamClient } from '@deepstream/client';
import { repositoryRoot } from './helpers/cli-server.ts';
import { referenceUnavailable, runCli, startOurs, startReference, type ConfigServer } from './helpers/compat-servers.ts';

const CONF = join(repositoryRoot, 'bench/compare/node_modules/@deepstream/server/conf');
const skipReference = await referenceUnavailable();
/** deepstream's conf/ comes with its package: without it nothing here can run. */
const skipAll = existsSync(CONF) ? undefined : (skipReference ?? `${CONF} is missing`);

/** The commented-out file-auth block of deepstream's own config.yml, switched on as its users would. */
const FILE_AUTH = `auth:
  - type: file
    options:
      users: fileLoad(users.yml)
      hash: 'md5'
      iterations: 100
      keyLength: 32
`;

// Inside the repository (test-artifacts/ is ignored by git), so a migrated .ts config finds the packages it imports.
let scratch: string;
before(() => {
  mkdirSync(join(repositoryRoot, 'test-artifacts'), { recursive: true });
  scratch = mkdtempSync(join(repositoryRoot, 'test-artifacts', 'compat-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** deepstream's conf/ copied, with `edit` applied to config.yml and permissions.yml. */
function confCopy(name: string, edit: { config?: (text: string) => string; permissions?: (text: string) => string } = {}): string {
  const dir = join(scratch, name);
  cpSync(CONF, dir, { recursive: true });
  for (const [file, change] of [['config.yml', edit.config], ['permissions.yml', edit.permissions]] as const) {
    if (change !== undefined) writeFileSync(join(dir, file), change(readFileSync(join(dir, file), 'utf8')));
  }
  return join(dir, 'config.yml');
}

function withFileAuth(text: string): string {
  const edited = text.replace(/^auth:\n  - type: none\n/m, FILE_AUTH);
  assert.notEqual(edited, text, "deepstream's config.yml still has its `auth: - type: none` block");
  return edited;
}

const clients: DeepstreamClient[] = [];
function client(url: string): DeepstreamClient & { errors: string[] } {
  const c = Object.assign(new DeepstreamClient(url, { maxReconnectAttempts: 0, nativeTimerRegistry: true, subscriptionInterval: 10 } as never), { errors: [] as string[] });
  c.on('error', (_error: unknown, event: string) => c.errors.push(event));
  clients.push(c);
  return c;
}
function closeClients(): void {
  for (const c of clients.splice(0)) c.close();
}

function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** What a login shows the user: the clientData, or the refusal's reason. */
async function login(c: DeepstreamClient, authData: Record<string, unknown>): Promise<unknown> {
  try {
    return { ok: await within(c.login(authData as never) as unknown as Promise<unknown>, 'login') };
  } catch (error) {
    if (error instanceof Error) throw error;
    return { refused: (error as { reason?: unknown }).reason ?? error };
  }
}

async function settle(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    return { ok: (await within(promise, what)) ?? null };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Two users through everything the issue lists: login, records, events, RPC, presence. Returns
 * what they observed, to be compared between servers.
 */
async function everyFeature(url: string, authA: Record<string, unknown>, authB: Record<string, unknown>): Promise<Record<string, unknown>> {
  const a = client(url);
  const b = client(url);
  const outcome: Record<string, unknown> = { loginA: await login(a, authA), loginB: await login(b, authB) };

  const name = `compat/${Math.random().toString(36).slice(2)}`;
  outcome.write = await settle(a.record.setDataWithAck(name, { colour: 'red', n: 1 }) as unknown as Promise<unknown>, 'setDataWithAck');
  outcome.read = await settle(b.record.snapshot(name), 'snapshot');

  const heard: unknown[] = [];
  b.event.subscribe('compat/news', (data: unknown) => heard.push(data));
  b.rpc.provide('compat/double', (data: unknown, response: { send(value: unknown): void }) => response.send((data as number) * 2));
  // The client sends subscriptions in batches every subscriptionInterval; then one round trip of B's
  // settles them, since the server handles a connection's messages in order.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await within(b.record.snapshot(name).catch(() => undefined), 'round trip');
  a.event.emit('compat/news', { hello: 'b' });
  outcome.rpc = await settle(a.rpc.make('compat/double', 21) as Promise<unknown>, 'rpc');
  const deadline = Date.now() + 3000;
  while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  outcome.event = heard;
  outcome.presence = await settle(a.presence.getAll() as Promise<unknown>, 'presence');
  outcome.errors = { a: a.errors, b: b.errors };
  closeClients();
  return outcome;
}

/** The HTTP side of config.yml: the health check and the http endpoint's POST /api. */
async function overHttp(wsUrl: string): Promise<unknown> {
  const base = wsUrl.replace(/^ws/, 'http').replace(/\/deepstream$/, '');
  const health = (await fetch(`${base}/health-check`)).status;
  const response = await fetch(`${base}/api`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ body: [{ topic: 'event', action: 'emit', eventName: 'compat/http', data: { via: 'http' } }] }),
  });
  return { health, api: { status: response.status, body: await response.json() } };
}

/** The same scenario against our server and, when it can run, deepstream 7.0.2, from the same file. */
async function compare(config: string, scenario: (url: string) => Promise<unknown>, env: NodeJS.ProcessEnv = {}): Promise<{ ours: unknown; server: ConfigServer }> {
  const server = await startOurs(config, env);
  let ours: unknown;
  try {
    ours = await scenario(server.url);
  } finally {
    await server.stop();
  }
  if (skipReference === undefined) {
    const reference = await startReference(config, env);
    try {
      assert.deepEqual(ours, await scenario(reference.url), 'the same outcome as deepstream 7.0.2');
    } finally {
      await reference.stop();
    }
  }
  return { ours, server };
}

describe("deepstream 7.0.2's own conf/, unchanged", { skip: skipAll, timeout: 120_000 }, () => {
  if (skipReference !== undefined) it(`compared with deepstream 7.0.2 itself (skipped: ${skipReference})`, { skip: skipReference }, () => undefined);

  it('starts: INFO log level, a generated serverName for UUID, one warning per dropped key', async () => {
    const { ours, server } = await compare(join(CONF, 'config.yml'), async (url) => ({
      ...(await everyFeature(url, { username: 'userA' }, { username: 'userB' })),
      http: await overHttp(url),
    }));
    assert.deepEqual((ours as { http: unknown }).http, {
      health: 200,
      api: { status: 200, body: { result: 'SUCCESS', body: [{ success: true }] } },
    });
    delete (ours as { http?: unknown }).http;
    assert.deepEqual(ours, {
      loginA: { ok: null },
      loginB: { ok: null },
      write: { ok: null },
      read: { ok: { colour: 'red', n: 1 } },
      rpc: { ok: 42 },
      event: [{ hello: 'b' }],
      presence: { ok: ['userB'] },
      errors: { a: [], b: [] },
    });
    const lines = server.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string; serverName?: string });
    const ready = lines.find((line) => line.msg === 'deepstream-ts is ready')!;
    assert.ok(ready.serverName !== undefined && ready.serverName !== 'UUID', `serverName ${ready.serverName}`);
    assert.ok(lines.some((line) => line.level === 30 && line.msg === 'config read as a deepstream 7 config'));
    const dropped = lines.filter((line) => line.level === 40 && line.msg.startsWith('deepstream config key ')).map((line) => line.msg.split(' ')[3]);
    assert.deepEqual(dropped.sort(), ['connectionEndpoints[0].options.maxBufferByteSize', 'logger', 'monitoring', 'showLogo', 'telemetry']);
  });

  it("logs in as users.yml's users with the hash settings from config.yml (file auth switched on)", async () => {
    const config = confCopy('file-auth', { config: withFileAuth });
    const { ours, server } = await compare(config, async (url) => {
      const right = await everyFeature(url, { username: 'userA', password: 'password' }, { username: 'userA', password: 'password' });
      const wrong = await login(client(url), { username: 'userA', password: 'Password' });
      const stranger = await login(client(url), { username: 'mallory', password: 'password' });
      closeClients();
      return { right, wrong, stranger };
    });
    const { right, wrong, stranger } = ours as Record<string, Record<string, unknown>>;
    assert.deepEqual(right!.loginA, { ok: { favouriteColor: 'red' } });
    assert.deepEqual(right!.presence, { ok: [] }, 'both connections are userA, who is not listed to itself');
    assert.deepEqual(wrong, { refused: 'INVALID_AUTHENTICATION_DETAILS' });
    assert.deepEqual(stranger, { refused: 'INVALID_AUTHENTICATION_DETAILS' });
    assert.doesNotMatch(server.output(), /option \\"(hash|keyLength)\\"/, 'no hash-settings warning: they match the users file');
  });

  it('logs in through an http webhook (auth type http), as deepstream does', async () => {
    const hook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const { authData } = JSON.parse(body) as { authData: { user?: string; password?: string } };
        if (authData.password !== 'open sesame') return response.writeHead(401).end();
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: authData.user, clientData: { via: 'hook' }, serverData: { role: 'user' } }));
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const { port } = hook.address() as AddressInfo;
    try {
      const config = confCopy('http-auth', {
        config: (text) =>
          withFileAuthType('http')(text).replace(
            /^auth:\n  - type: http\n/m,
            `auth:\n  - type: http\n    options:\n      endpointUrl: http://127.0.0.1:${port}/check\n      permittedStatusCodes: [200]\n      requestTimeout: 2000\n      retryStatusCodes: [503]\n      retryAttempts: 1\n      retryInterval: 100\n`,
          ),
      });
      const { ours } = await compare(config, async (url) => {
        const right = await login(client(url), { user: 'ada', password: 'open sesame' });
        const wrong = await login(client(url), { user: 'ada', password: 'guess' });
        closeClients();
        return { right, wrong };
      });
      assert.deepEqual(ours, { right: { ok: { via: 'hook' } }, wrong: { refused: 'INVALID_AUTHENTICATION_DETAILS' } });
    } finally {
      hook.close();
    }
  });

  it('replaces ${ADMIN_USER} in permissions.yml: the admin may write, anyone else is denied, as on deepstream', async () => {
    const config = confCopy('admin-rule', {
      permissions: (text) => text.replace(/record:\n  "\*":\n    create: true\n    write: true/, `record:\n  "*":\n    create: true\n    write: "user.id === '\${ADMIN_USER}'"`),
    });
    assert.match(readFileSync(join(config, '..', 'permissions.yml'), 'utf8'), /ADMIN_USER/);
    const { ours } = await compare(
      config,
      async (url) => {
        const admin = await everyFeature(url, { username: 'admin' }, { username: 'reader' });
        const guest = await everyFeature(url, { username: 'guest' }, { username: 'reader' });
        return { admin: admin.write, guest: guest.write, guestErrors: guest.errors };
      },
      { ADMIN_USER: 'admin' },
    );
    const { admin, guest } = ours as Record<string, unknown>;
    assert.deepEqual(admin, { ok: null });
    assert.notDeepEqual(guest, { ok: null }, 'the guest is denied');
  });

  it('serves a config with ${NAME} macros from the environment: host and port of the http server', async () => {
    const config = confCopy('variables', {
      config: (text) => text.replace('    healthCheckPath: /health-check', '    healthCheckPath: ${HEALTH_PATH}'),
    });
    const server = await startOurs(config, { HEALTH_PATH: '/healthy' });
    try {
      const http = `http://127.0.0.1:${server.port}`;
      assert.equal((await fetch(`${http}/healthy`)).status, 200);
      assert.equal((await fetch(`${http}/health-check`)).status, 404);
    } finally {
      await server.stop();
    }
  });
});

describe('what cannot be honoured stops the start with a clear error', { skip: skipAll, timeout: 60_000 }, () => {
  const refused = async (name: string, edit: (text: string) => string, pattern: RegExp) => {
    const { code, stderr } = await runCli(['start', '-c', confCopy(name, { config: edit }), '--port', '0']);
    assert.equal(code, 1, stderr);
    assert.match(stderr, pattern);
  };

  it('a storage or cache we have no connector for, a custom plugin, an unknown key', async () => {
    await refused('rethink', (text) => `${text}\nstorage:\n  name: rethinkdb\n`, /DS_CONFIG_INVALID: deepstream config: storage "rethinkdb": no storage connector here/);
    await refused('memcached', (text) => `${text}\ncache:\n  name: memcached\n`, /cache "memcached": no cache connector/);
    await refused('custom', (text) => `${text}\nplugins:\n  mine:\n    path: ./my-plugin.js\n`, /plugins\.mine: the custom plugin "\.\/my-plugin\.js" cannot run here/);
    await refused('unknown', (text) => `${text}\nnotAKey: 1\n`, /unknown key "notAKey" \(deepstream 7 refuses it too\)/);
    await refused('storage-auth', withFileAuthType('storage'), /auth\[0\]: authentication against users stored as records \(type: storage\) has no equivalent/);
  });

  it('a permissions.yml naming an unset variable, naming it', async () => {
    const config = confCopy('unset-variable', { permissions: (text) => text.replace('    write: true', "    write: \"user.id === '${COMPAT_TEST_UNSET}'\"") });
    const { code, stdout, stderr } = await runCli(['start', '-c', config, '--port', '0']);
    assert.equal(code, 1);
    assert.match(stdout + stderr, /environment variable COMPAT_TEST_UNSET is not set/);
  });
});

function withFileAuthType(type: string): (text: string) => string {
  return (text) => text.replace(/^auth:\n  - type: none\n/m, `auth:\n  - type: ${type}\n`);
}

describe('deepstream migrate', { skip: skipAll, timeout: 60_000 }, () => {
  for (const form of ['ts', 'yaml'] as const) {
    it(`prints an equivalent ${form === 'ts' ? 'deepstream.config.ts' : 'YAML config'} that starts the same server`, async () => {
      const config = confCopy(`migrate-${form}`, { config: withFileAuth });
      const { code, stdout, stderr } = await runCli(['migrate', config, ...(form === 'yaml' ? ['--yaml'] : [])]);
      assert.equal(code, 0, stderr);
      for (const key of ['showLogo', 'telemetry', 'monitoring', 'logger']) assert.match(stdout, new RegExp(`- ${key}: `), `a comment for the dropped ${key}`);
      assert.match(stdout, form === 'ts' ? /authFile\.with\(\{ path: '\.\/users\.yml', hash: 'md5', iterations: 100, keyLength: 32 \}\)/ : /path: \.\/users\.yml/);
      const migrated = join(config, '..', form === 'ts' ? 'deepstream.config.ts' : 'deepstream.config.yml');
      writeFileSync(migrated, stdout);
      const server = await startOurs(migrated);
      try {
        const outcome = await everyFeature(server.url, { username: 'userA', password: 'password' }, { username: 'userA', password: 'password' });
        assert.deepEqual(outcome.loginA, { ok: { favouriteColor: 'red' } });
        assert.deepEqual(outcome.read, { ok: { colour: 'red', n: 1 } });
        assert.deepEqual(outcome.rpc, { ok: 42 });
        assert.doesNotMatch(server.output(), /deepstream config key/, 'our own config: nothing to drop');
      } finally {
        await server.stop();
      }
    });
  }

  it('refuses a file in no known format', async () => {
    const file = join(scratch, 'ours.yml');
    writeFileSync(file, 'port: 6020\nplugins: []\n');
    const { code, stderr } = await runCli(['migrate', file]);
    assert.equal(code, 1);
    assert.match(stderr, /is in no format an installed package translates/);
  });
});
