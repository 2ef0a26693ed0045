/**
 * Loading the rules file at start (refused with file and line when broken), and reloading it on
 * SIGHUP or on change without dropping connections; a broken file keeps the rules in force.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, closeClients, startValveServer, until, type TestClient, type ValveServer } from './helpers.ts';

const rulesFile = (publish: string) => `
presence: { "*": { allow: true } }
record: { "*": { read: true, create: true, write: true } }
event:
  "*":
    subscribe: true
    publish: ${publish}
rpc: { "*": { request: true, provide: true } }
`;

async function tempFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'valve-reload-')), 'permissions.yml');
  await writeFile(file, text);
  return file;
}

/** Emits on `news` from `sender`; resolves true if `receiver` got it, false if the sender was denied. */
async function delivered(sender: TestClient, received: unknown[]): Promise<boolean> {
  const before = { received: received.length, errors: sender.errors.length };
  sender.event.emit('news', before.received);
  await until(() => received.length > before.received || sender.errors.length > before.errors, 'the emit is delivered or denied');
  return received.length > before.received;
}

const reloads = (server: ValveServer, outcome: 'permissions reloaded' | 'permissions reload failed') =>
  server.logs.filter((line) => line.plugin === '@deepstream-ts/plugin-permissions-valve' && line.msg.startsWith(outcome)).length;

describe('loading the rules at start', () => {
  it('refuses to start with a broken file, naming file, line and rule', async () => {
    const file = await tempFile(rulesFile('"data.constructor"'));
    await assert.rejects(startValveServer({ path: file }), (error: Error) => {
      assert.match(error.message, /DS_PLUGIN_SETUP_FAILED/);
      assert.match(error.message, /permissions\.yml:7 event "\*" publish: the property "constructor" is not accessible in rules/);
      return true;
    });
  });

  it('refuses to start with a YAML syntax error or a missing file', async () => {
    const file = await tempFile('event: { "*": { publish: true }\nrecord: [');
    await assert.rejects(startValveServer({ path: file }), /permissions\.yml:\d+:\d+: YAML syntax error/);
    await assert.rejects(startValveServer({ path: join(tmpdir(), 'no-such-dir', 'permissions.yml') }), /cannot be read/);
  });

  it('needs exactly one of path and permissions', async () => {
    await assert.rejects(startValveServer({}), /exactly one of the options "path"/);
    await assert.rejects(startValveServer({ path: 'x.yml', permissions: {} }), /exactly one of the options "path"/);
    await assert.rejects(startValveServer({ permissions: {}, maxRuleIterations: 0 }), /"maxRuleIterations" must be a positive integer/);
  });
});

describe('reloading the rules file', { timeout: 20_000 }, () => {
  let server: ValveServer;
  let file: string;
  const sighupListeners = process.listenerCount('SIGHUP');
  before(async () => {
    file = await tempFile(rulesFile('true'));
    server = await startValveServer({ path: file, watch: true });
  });
  afterEach(closeClients);
  after(async () => {
    await server.stop();
    assert.equal(process.listenerCount('SIGHUP'), sighupListeners, 'the SIGHUP listener is removed at shutdown');
  });

  it('reloads on SIGHUP without dropping connections; a broken file keeps the rules in force', async () => {
    const [sender, receiver] = await Promise.all([client(server.url, 'sender'), client(server.url, 'receiver')]);
    const received: unknown[] = [];
    receiver.event.subscribe('news', (data: unknown) => received.push(data));
    await server.subscribed('news', 1);
    assert.equal(await delivered(sender, received), true);

    // Written in place: the watcher may see it too, which is fine, the outcome is the same.
    const ok = reloads(server, 'permissions reloaded');
    await writeFile(file, rulesFile('false'));
    process.kill(process.pid, 'SIGHUP');
    await until(() => reloads(server, 'permissions reloaded') > ok, 'the rules are reloaded');
    assert.equal(await delivered(sender, received), false);
    assert.deepEqual(sender.errors, ['MESSAGE_DENIED']);

    const failed = reloads(server, 'permissions reload failed');
    await writeFile(file, rulesFile('"process.exit(1)"'));
    process.kill(process.pid, 'SIGHUP');
    await until(() => reloads(server, 'permissions reload failed') > failed, 'the reload fails');
    const failure = server.logs.filter((line) => line.msg.startsWith('permissions reload failed')).at(-1)!;
    assert.deepEqual(failure.problems, ['permissions.yml:7 event "*" publish: "process" is not available in rules (at character 1 of "process.exit(1)")']);
    assert.equal(await delivered(sender, received), false, 'the previous rules stay in force');

    assert.equal(sender.getConnectionState(), 'OPEN');
    assert.equal(receiver.getConnectionState(), 'OPEN');
    assert.equal(server.kernel.sessions.size, 2);
  });

  it('reloads when the file changes, with watch: true (also when it is replaced by a rename)', async () => {
    const [sender, receiver] = await Promise.all([client(server.url, 'sender'), client(server.url, 'receiver')]);
    const received: unknown[] = [];
    receiver.event.subscribe('news', (data: unknown) => received.push(data));
    await server.subscribed('news', 1);
    const ok = reloads(server, 'permissions reloaded');
    const replacement = `${file}.tmp`;
    await writeFile(replacement, rulesFile('"user.id === \'sender\'"'));
    await rename(replacement, file);
    await until(() => reloads(server, 'permissions reloaded') > ok, 'the change is picked up');
    assert.equal(await delivered(sender, received), true);
    assert.equal(await delivered(receiver, []), false, 'only the sender may publish now');
  });

  it('offers reload() as the permissions service', async () => {
    const permissions = server.kernel.service('permissions')!;
    await writeFile(file, rulesFile('true'));
    assert.equal(await permissions.reload(), true);
    await writeFile(file, 'event: [');
    assert.equal(await permissions.reload(), false);
  });
});
