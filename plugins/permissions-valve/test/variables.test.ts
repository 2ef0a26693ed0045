/**
 * `${NAME}` in permissions.yml, as deepstream users write it: replaced by the environment variable
 * when the file is loaded; an unset one stops the start naming it instead of weakening a rule.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, closeClients, startValveServer, until } from './helpers.ts';

const RULES = `
presence: { "*": { allow: true } }
record: { "*": { read: true, create: true, write: true } }
event:
  "*":
    subscribe: true
    # only the admin named by the environment: \${VALVE_TEST_ADMIN}
    publish: "user.id === '\${VALVE_TEST_ADMIN}'"
rpc: { "*": { request: true, provide: true } }
`;

async function rulesFile(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'valve-variables-')), 'permissions.yml');
  await writeFile(file, RULES);
  return file;
}

describe('environment variables in the permissions file', () => {
  afterEach(() => {
    closeClients();
    delete process.env.VALVE_TEST_ADMIN;
  });

  it('replaces ${NAME} with the variable: only the user it names may publish', async () => {
    process.env.VALVE_TEST_ADMIN = 'root-user';
    const server = await startValveServer({ path: await rulesFile() });
    try {
      const [admin, other, receiver] = await Promise.all([client(server.url, 'root-user'), client(server.url, 'someone'), client(server.url, 'receiver')]);
      const received: unknown[] = [];
      receiver.event.subscribe('news', (data: unknown) => received.push(data));
      await server.subscribed('news', 1);
      other.event.emit('news', 'from other');
      await until(() => other.errors.length > 0, 'the other user is denied');
      assert.deepEqual(other.errors, ['MESSAGE_DENIED']);
      admin.event.emit('news', 'from admin');
      await until(() => received.length > 0, 'the admin is delivered');
      assert.deepEqual(received, ['from admin']);
    } finally {
      await server.stop();
    }
  });

  it('refuses to start when a variable is not set, naming it', async () => {
    await assert.rejects(startValveServer({ path: await rulesFile() }), (error: Error) => {
      assert.match(error.message, /permissions\.yml: environment variable VALVE_TEST_ADMIN is not set/);
      return true;
    });
  });
});
