import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isDeepstreamError, type DeepstreamConfig } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import authFile, { DEFAULT_HASH, hashPassword, verifyPassword, type HashParameters } from '@deepstream-ts/plugin-auth-file';
import {
  assertNotLogged,
  assertTooManyAttempts,
  assertUnauthenticatedTimeout,
  official,
  refusal,
  server,
  sessionOf,
} from '../../../test/helpers/auth.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
/** Cheap parameters for most tests; one test uses the defaults through the CLI. */
const FAST: HashParameters = { hash: 'sha256', iterations: 1000, keyLength: 32 };
const MISSING = { error: 'missing authentication parameter: username or/and password' };

// The shipped deepstream users.yml (HTTP_AND_CONFIG §3.4): "password", md5, 100 iterations, 32 bytes.
const SHIPPED_USERS_YML = `
userA:
  password: "rCOSZxJrgze2AZdVQh12c6ErDMOG0M+Rx5Yu7S5d91c=GS4SbTQYmoaGwjm2shEobg=="
  serverData:
    someOptional: "auth-data"
  clientData:
    favouriteColor: "red"
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-auth-file-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('password hashes', () => {
  it('verifies the spec vector (md5, 100 iterations, 32 bytes)', async () => {
    const parameters: HashParameters = { hash: 'md5', iterations: 100, keyLength: 32 };
    const stored = 'rCOSZxJrgze2AZdVQh12c6ErDMOG0M+Rx5Yu7S5d91c=GS4SbTQYmoaGwjm2shEobg==';
    assert.equal(await verifyPassword('password', stored, parameters), true);
    assert.equal(await verifyPassword('Password', stored, parameters), false);
    assert.equal(await verifyPassword('', stored, parameters), false);
  });

  it('hashes as base64 key then a 24-character salt, and verifies what it made', async () => {
    const stored = await hashPassword('s3cret', FAST);
    assert.match(stored, /^[A-Za-z0-9+/]{43}=[A-Za-z0-9+/]{22}==$/);
    assert.equal(await verifyPassword('s3cret', stored, FAST), true);
    assert.equal(await verifyPassword('s3cret!', stored, FAST), false);
    assert.notEqual(await hashPassword('s3cret', FAST), stored, 'a fresh salt every time');
  });

  it('compares plain-text passwords whatever their lengths', async () => {
    const plain: HashParameters = { hash: false, iterations: 1, keyLength: 1 };
    assert.equal(await verifyPassword('abc', 'abc', plain), true);
    assert.equal(await verifyPassword('abcd', 'abc', plain), false);
    assert.equal(await verifyPassword('', 'abc', plain), false);
  });
});

describe('the shipped users.yml through the official client', () => {
  it('logs userA in with its clientData; serverData stays on the server', async () => {
    const path = file('users.yml', SHIPPED_USERS_YML);
    const s = await server({ plugins: [authFile.with({ path, hash: 'md5', iterations: 100, keyLength: 32 })] });
    const c = official(s.url);
    assert.deepEqual(await c.login({ username: 'userA', password: 'password' }), { favouriteColor: 'red' });
    assert.deepEqual(sessionOf(s, 'userA').serverData, { someOptional: 'auth-data' });
    assert.deepEqual(sessionOf(s, 'userA').clientData, { favouriteColor: 'red' });
    assert.deepEqual(s.warnings(), [], 'settings that match the hashes: nothing to warn about');
  });
});

describe('auth-file as the only strategy', () => {
  const password = 'correct horse battery staple';
  let s: Awaited<ReturnType<typeof server>>;
  before(async () => {
    const users = {
      ada: { password: await hashPassword(password, FAST), serverData: { role: 'admin' } },
      bob: { password: await hashPassword('bobs-password', FAST), clientData: { theme: 'dark' } },
    };
    const path = file('users.json', JSON.stringify(users));
    s = await server({ connection: { unauthenticatedClientTimeout: 600 }, plugins: [authFile.with({ path, ...FAST })] });
  });

  it('logs in with the right password; a user without clientData gets null', async () => {
    const c = official(s.url);
    assert.equal(await c.login({ username: 'ada', password }), null);
    assert.deepEqual(sessionOf(s, 'ada').serverData, { role: 'admin' });
  });

  it('refuses a wrong password without data', async () => {
    assert.equal(await refusal(official(s.url), { username: 'ada', password: 'nope' }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it('refuses an unknown user without data', async () => {
    assert.equal(await refusal(official(s.url), { username: 'eve', password }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it('refuses missing or non-string parameters, saying so', async () => {
    const c = official(s.url);
    assert.deepEqual(await refusal(c, { username: 'ada' }), MISSING);
    assert.deepEqual(await refusal(c, { username: 'ada', password: 42 }), MISSING);
    assert.deepEqual(await refusal(official(s.url), {}), MISSING);
  });

  it('counts failed attempts: TOO_MANY_AUTH_ATTEMPTS after three', async () => {
    await assertTooManyAttempts(s, { username: 'ada', password: 'wrong' });
  });

  it('times out clients that never log in, not those refused once', async () => {
    await assertUnauthenticatedTimeout(s, { username: 'ada', password: 'wrong' });
  });

  it('never logs a password, right or wrong, nor one typed into the username field', async () => {
    const c = official(s.url);
    await refusal(c, { username: 'ada', password: 'wrong-and-secret-1' });
    await refusal(c, { username: 'wrong-and-secret-2', password: 'x' });
    await c.login({ username: 'ada', password });
    await official(s.url).login({ username: 'bob', password: 'bobs-password' });
    assertNotLogged(s, [password, 'wrong-and-secret-1', 'wrong-and-secret-2', 'bobs-password']);
  });
});

describe('plain-text passwords in YAML', () => {
  it('logs in with hash: false', async () => {
    const path = file('plain.yml', 'carol:\n  password: open-sesame\n  clientData: { greeting: hi }\n');
    const s = await server({ plugins: [authFile.with({ path, hash: false })] });
    assert.deepEqual(await official(s.url).login({ username: 'carol', password: 'open-sesame' }), { greeting: 'hi' });
    assert.equal(await refusal(official(s.url), { username: 'carol', password: 'open-sesame ' }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it('takes the users map inline', async () => {
    const s = await server({ plugins: [authFile.with({ users: { dan: { password: 'pw' } }, hash: false })] });
    await official(s.url).login({ username: 'dan', password: 'pw' });
  });
});

describe('deepstream hash (the CLI)', () => {
  const hashWith = async (args: string[]) => (await run(process.execPath, ['core/bin/deepstream.js', 'hash', ...args], { cwd: root })).stdout.trim();

  it('prints a hash that auth-file verifies with its default parameters', async () => {
    const stored = await hashWith(['cli-password']);
    assert.equal(await verifyPassword('cli-password', stored, DEFAULT_HASH), true);
    const s = await server({ plugins: [authFile.with({ users: { erin: { password: stored } } })] });
    await official(s.url).login({ username: 'erin', password: 'cli-password' });
  });

  it('takes the parameters as flags', async () => {
    const parameters: HashParameters = { hash: 'sha512', iterations: 10, keyLength: 64 };
    const stored = await hashWith(['pw', '--algorithm', 'sha512', '--iterations', '10', '--key-length', '64']);
    assert.equal(await verifyPassword('pw', stored, parameters), true);
  });

  it('reads the password from standard input', async () => {
    const child = execFile(process.execPath, ['core/bin/deepstream.js', 'hash'], { cwd: root });
    child.stdin!.end('from-stdin\n');
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(await verifyPassword('from-stdin', stdout.trim(), DEFAULT_HASH), true);
  });

  it('refuses an unknown digest', async () => {
    await assert.rejects(hashWith(['pw', '--algorithm', 'nope']), (error: { code: number; stderr: string }) => error.code === 2 && /--algorithm must be a digest/.test(error.stderr));
  });

  it('with --config, hashes with the auth-file options of that config, and refuses flags that disagree', async () => {
    const config = 'test/fixtures/configs/auth-file-md5.yaml';
    const stored = await hashWith(['pw', '--config', config]);
    assert.equal(await verifyPassword('pw', stored, { hash: 'md5', iterations: 100, keyLength: 16 }), true);
    assert.equal(stored.length, 24 + 24, 'a 16-byte key, not the default 32');
    const s = await server({ plugins: [authFile.with({ users: { fred: { password: stored } }, hash: 'md5', iterations: 100, keyLength: 16 })] });
    await official(s.url).login({ username: 'fred', password: 'pw' });
    await assert.rejects(hashWith(['pw', '--config', config, '--iterations', '5']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /--iterations would make a hash that .*auth-file-md5\.yaml does not check/);
      return true;
    });
  });
});

describe('several strategies (reportInvalidParameters)', () => {
  const users = async () => ({ fay: { password: await hashPassword('fays-password', FAST) } });

  it('defaults to false: a wrong password falls through to the next strategy (the SECURITY §1 pitfall)', async () => {
    const s = await server({ plugins: [authFile.with({ users: await users(), ...FAST }), authOpen] });
    await official(s.url).login({ username: 'fay', password: 'wrong' });
    assert.equal(sessionOf(s, 'fay').serverData, undefined, 'logged in by auth-open, not by auth-file');
    assert.equal(await official(s.url).login({}), null, 'no credentials: auth-open too');
  });

  it('explicitly true: a wrong password for a known user ends the login', async () => {
    const s = await server({ plugins: [authFile.with({ users: await users(), ...FAST, reportInvalidParameters: true }), authOpen] });
    assert.equal(await refusal(official(s.url), { username: 'fay', password: 'wrong' }), 'INVALID_AUTHENTICATION_DETAILS');
    assert.deepEqual(await refusal(official(s.url), { username: 'fay' }), MISSING);
    await official(s.url).login({ username: 'unknown-here', password: 'x' }); // unknown users still pass on
  });
});

describe('start-up validation', () => {
  const refused = async (config: DeepstreamConfig, pattern: RegExp) =>
    assert.rejects(startTestServer(config), (error) => isDeepstreamError(error, 'DS_PLUGIN_OPTIONS_INVALID') && pattern.test(error.message));

  it('names the file and the user whose hash is malformed', async () => {
    const path = file('bad-hash.yml', 'good:\n  password: "rCOSZxJrgze2AZdVQh12c6ErDMOG0M+Rx5Yu7S5d91c=GS4SbTQYmoaGwjm2shEobg=="\nmallory:\n  password: "not-a-hash"\n');
    await refused({ plugins: [authFile.with({ path, hash: 'md5', iterations: 100, keyLength: 32 })] }, /bad-hash\.yml: user "mallory": the password .*npx deepstream hash/);
  });

  it('replaces ${NAME} in the users file with the environment variable; an unset one is refused, named', async () => {
    const path = file('env-users.yml', 'ops:\n  password: "${AUTH_FILE_TEST_PASSWORD}"\n  clientData: { team: "${AUTH_FILE_TEST_TEAM}" }\n');
    await refused({ plugins: [authFile.with({ path, hash: false })] }, /env-users\.yml: environment variable AUTH_FILE_TEST_PASSWORD is not set/);
    process.env.AUTH_FILE_TEST_PASSWORD = 'from-env';
    process.env.AUTH_FILE_TEST_TEAM = 'night';
    try {
      const s = await server({ plugins: [authFile.with({ path, hash: false })] });
      assert.deepEqual(await official(s.url).login({ username: 'ops', password: 'from-env' }), { team: 'night' });
    } finally {
      delete process.env.AUTH_FILE_TEST_PASSWORD;
      delete process.env.AUTH_FILE_TEST_TEAM;
    }
  });

  it('refuses one hash made for another key length among good ones', async () => {
    const users = {
      gus: { password: await hashPassword('x', { hash: 'sha256', iterations: 1, keyLength: 16 }) },
      hal: { password: await hashPassword('x', FAST) },
    };
    await refused({ plugins: [authFile.with({ users, ...FAST })] }, /user "gus": the password/);
  });

  it('warns naming keyLength when every hash was made for another key length, and logs nobody in', async () => {
    const users = { gus: { password: await hashPassword('x', { hash: 'sha256', iterations: 1, keyLength: 16 }) } };
    const s = await server({ plugins: [authFile.with({ users, ...FAST })] });
    assert.ok(
      s.warnings().some((line) => /option "keyLength" is 32, but every password hash in the users option has a 16-byte key: set keyLength to 16/.test(String(line.msg))),
      JSON.stringify(s.warnings()),
    );
    assert.equal(await refusal(official(s.url), { username: 'gus', password: 'x' }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it("warns naming hash when passwords are compared as plain text but are all hashes (deepstream's users.yml without hash settings)", async () => {
    const s = await server({ plugins: [authFile.with({ path: file('shipped-plain.yml', SHIPPED_USERS_YML), hash: false })] });
    assert.ok(s.warnings().some((line) => /option "hash" is false .* every password in .*shipped-plain\.yml is a PBKDF2 hash/.test(String(line.msg))), JSON.stringify(s.warnings()));
    assert.equal(await refusal(official(s.url), { username: 'userA', password: 'password' }), 'INVALID_AUTHENTICATION_DETAILS');
  });

  it('refuses invalid YAML or JSON, naming the file and the place but never quoting it', async () => {
    const yml = file('broken.yml', 'a:\n  password: "plain-secret-1\n  b: [\n');
    await assert.rejects(startTestServer({ plugins: [authFile.with({ path: yml, hash: false })] }), (error: Error) => {
      assert.match(error.message, /users file .*broken\.yml is not valid YAML: .* at line \d+, column \d+/);
      assert.equal(error.message.includes('plain-secret-1'), false, error.message);
      return true;
    });
    const json = file('broken.json', '{"a": {"password": "plain-secret-2"}, }');
    await assert.rejects(startTestServer({ plugins: [authFile.with({ path: json, hash: false })] }), (error: Error) => {
      assert.match(error.message, /users file .*broken\.json is not valid JSON/);
      assert.equal(error.message.includes('plain-secret-2'), false, error.message);
      return true;
    });
  });

  it('refuses a missing file, an unknown extension, an empty map and odd entries', async () => {
    await refused({ plugins: [authFile.with({ path: join(dir, 'absent.yml'), hash: false })] }, /absent\.yml cannot be read/);
    await refused({ plugins: [authFile.with({ path: file('users.txt', 'x'), hash: false })] }, /expected a \.yml, \.yaml or \.json file/);
    await refused({ plugins: [authFile.with({ path: file('empty.json', '{}'), hash: false })] }, /has no users/);
    await refused({ plugins: [authFile.with({ users: { hal: { pasword: 'x' } }, hash: false })] }, /user "hal" has unknown key "pasword"/);
    await refused({ plugins: [authFile.with({ users: { ivy: { password: 7 } }, hash: false })] }, /user "ivy" needs a password/);
    await refused({ plugins: [authFile.with({ users: { jo: 'pw' } as never, hash: false })] }, /user "jo" must be a map/);
  });

  it('refuses bad options', async () => {
    const badOptions = (config: DeepstreamConfig, pattern: RegExp) =>
      assert.rejects(startTestServer(config), (error) => isDeepstreamError(error, 'DS_PLUGIN_OPTIONS_INVALID') && pattern.test(error.message));
    await badOptions({ plugins: [authFile] }, /plugin "@deepstream-ts\/plugin-auth-file": needs exactly one of the options path .* or users/);
    await badOptions({ plugins: [authFile.with({ users: { a: { password: 'x' } }, hash: 'sha9000' })] }, /option "hash" must be false or a digest .*, got "sha9000"/);
    await badOptions({ plugins: [authFile.with({ users: { a: { password: 'x' } }, iterations: 0 })] }, /option "iterations" must be a positive integer, got 0/);
    await badOptions({ plugins: [authFile.with({ users: { a: { password: 'x' } }, hsah: 'md5' } as never)] }, /unknown option "hsah"; known options: path, users, hash/);
  });
});
