import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type, definePlugin, isDeepstreamError, optionDefaults, resolveConfig } from '@deepstream-ts/core';
import { applySchema } from '../src/plugins/options-schema.ts';
import { pluginOptions } from '../src/plugins/plugin-options.ts';
import { resolvePlugins } from '../src/plugins/resolve.ts';

const SCHEMA = Type.Object({
  name: Type.String({ minLength: 1, default: 'x' }),
  limits: Type.Object(
    {
      perSecond: Type.Number({ exclusiveMinimum: 0, default: 10 }),
      burst: Type.Integer({ minimum: 1, default: 20 }),
    },
    { default: {} },
  ),
  backoff: Type.Union([Type.Literal(false), Type.Object({ base: Type.Number({ default: 1 }), max: Type.Number({ default: 9 }) })], { default: {} }),
  token: Type.Optional(Type.String({ minLength: 40, writeOnly: true })),
});

const problem = (given: unknown) => applySchema(SCHEMA, given, 'option').problem;

describe('options schema', () => {
  it('fills defaults deeply: a partial nested object keeps the other defaults', () => {
    const { value, problem } = applySchema(SCHEMA, { limits: { burst: 5 }, backoff: { max: 3 } }, 'option');
    assert.equal(problem, undefined);
    assert.deepEqual(value, { name: 'x', limits: { perSecond: 10, burst: 5 }, backoff: { base: 1, max: 3 } });
    assert.deepEqual(optionDefaults(SCHEMA), { name: 'x', limits: { perSecond: 10, burst: 20 }, backoff: { base: 1, max: 9 } });
  });

  it('never changes what it was given', () => {
    const given = Object.freeze({ limits: Object.freeze({ burst: 5 }) });
    applySchema(SCHEMA, given, 'option');
    assert.deepEqual(given, { limits: { burst: 5 } });
  });

  it('refuses unknown keys, nested ones too, and lists the known ones', () => {
    assert.equal(problem({ nmae: 'y' }), 'unknown option "nmae"; known options: name, limits, backoff, token');
    assert.equal(problem({ limits: { perSecnd: 1 } }), 'unknown option "limits.perSecnd"; known options of limits: perSecond, burst');
    // Inside a union's object variant, the unknown key is named, not "no variant matched".
    assert.equal(problem({ backoff: { bse: 2 } }), 'unknown option "backoff.bse"; known options of backoff: base, max');
  });

  it('refuses wrong types, quoting the value as written', () => {
    assert.equal(problem({ limits: { perSecond: 'abc' } }), 'option "limits.perSecond" must be a positive number, got "abc"');
    assert.equal(problem({ limits: { burst: 1.5 } }), 'option "limits.burst" must be a positive integer, got 1.5');
    assert.equal(problem({ backoff: true }), 'option "backoff" must be false or an object { base, max }, got true');
    assert.equal(problem({ name: '' }), 'option "name" must be a non-empty string, got ""');
    assert.equal(problem('text'), 'the options must be an object { name, limits, backoff, token }, got "text"');
  });

  it('never quotes a value its schema marks writeOnly', () => {
    assert.equal(problem({ token: 'secret-but-short' }), 'option "token" must be a string, got a string (not shown)');
  });

  it('words kernel config by key path, plugins by option', () => {
    assert.equal(applySchema(SCHEMA, { limits: { burst: 0 } }, 'key').problem, 'limits.burst must be a positive integer, got 0');
  });
});

describe('plugin options', () => {
  const plugin = definePlugin({ name: 'typo-catcher', version: '1.0.0', kernel: '^0.1.0', options: SCHEMA, setup() {} });

  it('throws DS_PLUGIN_OPTIONS_INVALID naming the plugin and the key', () => {
    assert.throws(
      () => pluginOptions(plugin, { limits: { perSecnd: 1 } }),
      (error) => isDeepstreamError(error, 'DS_PLUGIN_OPTIONS_INVALID') && error.message === 'DS_PLUGIN_OPTIONS_INVALID: plugin "typo-catcher": unknown option "limits.perSecnd"; known options of limits: perSecond, burst',
    );
  });

  it('keeps the legacy defaults form: shallow merge, nothing checked', () => {
    const legacy = { name: 'legacy', version: '1.0.0', kernel: '^0.1.0', defaults: { a: { b: 1 }, c: 2 }, setup() {} };
    assert.deepEqual(pluginOptions(legacy, { a: { z: 1 }, typo: 3 }), { a: { z: 1 }, c: 2, typo: 3 });
  });
});

describe('manifest options', () => {
  const base = { name: 'm', version: '1.0.0', kernel: '^0.1.0', setup() {} };
  const invalid = (manifest: object, pattern: RegExp) =>
    assert.rejects(resolvePlugins([manifest as never], process.cwd()), (error) => isDeepstreamError(error, 'DS_PLUGIN_INVALID') && pattern.test(error.message));

  it('refuses a schema that is not one, and a schema beside legacy defaults', async () => {
    await invalid({ ...base, options: { type: 'object' } }, /"options" must be a schema made with Type\.Object/);
    await invalid({ ...base, options: SCHEMA, defaults: { name: 'y' } }, /"options" and "defaults" together/);
  });
});

describe('kernel config schema', () => {
  const refused = (config: object, message: string, env: NodeJS.ProcessEnv = {}) =>
    assert.throws(() => resolveConfig(config, { env }), (error) => isDeepstreamError(error, 'DS_CONFIG_INVALID') && error.message === `DS_CONFIG_INVALID: ${message}`);

  it('names the key path and quotes the value', () => {
    refused({ port: '6020' }, 'port must be an integer from 0 to 65535, got "6020"');
    refused({ connection: { heartbeatInterval: 'abc' } }, 'connection.heartbeatInterval must be a positive number, got "abc"');
    refused({ connection: { heartbeatIntervall: 1000 } }, 'unknown key "connection.heartbeatIntervall"; known keys of connection: path, heartbeatInterval, unauthenticatedClientTimeout, maxAuthAttempts, maxMessageSize, outgoingBufferLimit, writeDelay, closeGracePeriod, loginBackoff, maxUnauthenticatedPerAddress, trustProxy, maxNamesPerMessage, maxSubscriptionsPerConnection');
    refused({ logLevel: 'verbose' }, 'logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
  });

  it('checks environment overrides, naming the variable', () => {
    refused({}, 'DEEPSTREAM_PORT: port must be an integer from 0 to 65535, got "abc"', { DEEPSTREAM_PORT: 'abc' });
    refused({}, 'DEEPSTREAM_PORT: port must be an integer from 0 to 65535, got 70000', { DEEPSTREAM_PORT: '70000' });
    refused({}, 'DEEPSTREAM_LOG_LEVEL: logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "loud"', { DEEPSTREAM_LOG_LEVEL: 'loud' });
    assert.equal(resolveConfig({ port: 1 }, { env: { DEEPSTREAM_PORT: '7001' } }).port, 7001);
  });

  it('merges connection defaults deeply', () => {
    const { connection } = resolveConfig({ connection: { loginBackoff: { window: 5 } } }, { env: {} });
    assert.deepEqual(connection.loginBackoff, { failuresPerUsername: 10, failuresPerAddress: 100, window: 5, baseDelay: 1_000, maxDelay: 60_000, maxTrackedKeys: 10_000 });
    assert.equal(connection.heartbeatInterval, 30_000);
  });
});
