/**
 * The documented variants of each deepstream 7 config section, translated: what each becomes,
 * checked against the options schema of the plugin that receives it (so a translation the plugin
 * would refuse fails here), what is dropped with a warning, and what is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import format, { isDeepstreamConfig, translateFile, type PluginUse } from '@deepstream-ts/compat-deepstream';
import { pluginOptions } from '../../../core/src/plugins/plugin-options.ts';
import type { PluginManifest } from '@deepstream-ts/core';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-compat-translate-'));
  writeFileSync(join(dir, 'users.yml'), 'alice:\n  password: secret\n');
  writeFileSync(join(dir, 'permissions.yml'), 'record: { "*": { read: true } }\n');
  writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function translated(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const filepath = join(dir, 'config.yml');
  writeFileSync(filepath, yaml);
  return translateFile({ filepath, text: yaml, document: undefined, env });
}

const plugin = (plugins: PluginUse[], name: string) => plugins.find((p) => p.use.endsWith(name));

/** The options a plugin would end up with, as its own schema checks them; throws what it would refuse. */
async function checked(use: PluginUse): Promise<object> {
  const manifest = ((await import(use.use)) as { default: PluginManifest<object> }).default;
  return pluginOptions(manifest, use.options);
}

describe('recognising a deepstream config by its shape', () => {
  it('tells deepstream 7 configs from ours', () => {
    assert.equal(isDeepstreamConfig({ showLogo: true }), true);
    assert.equal(isDeepstreamConfig({ logLevel: 'INFO' }), true);
    assert.equal(isDeepstreamConfig({ logLevel: 1 }), true);
    assert.equal(isDeepstreamConfig({ plugins: { custom: { path: 'x' } } }), true);
    assert.equal(isDeepstreamConfig({ port: 6020, logLevel: 'info', plugins: ['@deepstream-ts/plugin-events'] }), false);
    assert.equal(isDeepstreamConfig({ connectionEndpoints: [], plugins: [] }), false, 'a plugins list is ours');
    assert.equal(format.recognise([1, 2]), false);
  });
});

describe('each section', () => {
  it('general keys: logLevel names and numbers, UUID, timeouts', () => {
    assert.equal(translated('logLevel: DEBUG\nshowLogo: false\n').translation.settings.logLevel, 'debug');
    assert.equal(translated('logLevel: 100\nshowLogo: false\n').translation.settings.logLevel, 'silent');
    const { translation } = translated('serverName: UUID\ndependencyInitializationTimeout: 4000\nexitOnFatalError: false\nshowLogo: false\n');
    assert.equal(translation.settings.serverName, undefined, 'UUID: a name is generated');
    assert.equal(translation.settings.pluginSetupTimeout, 4000);
    assert.equal(translated('serverName: node-a\nshowLogo: false\n').translation.settings.serverName, 'node-a');
    assert.throws(() => translated('logLevel: LOUD\nshowLogo: false\n'), /logLevel "LOUD" is none of DEBUG, INFO, WARN, ERROR, OFF/);
    assert.deepEqual(translated('exitOnFatalError: true\n').translation.dropped.map((d) => d.key), ['exitOnFatalError']);
  });

  it('enabledFeatures: a disabled feature has no plugin', () => {
    const { translation } = translated('enabledFeatures: { record: false, event: true, rpc: false, presence: true }\n');
    const uses = translation.plugins.map((p) => p.use);
    assert.equal(uses.includes('@deepstream-ts/plugin-records'), false);
    assert.equal(uses.includes('@deepstream-ts/plugin-rpc'), false);
    assert.equal(uses.includes('@deepstream-ts/plugin-events'), true);
  });

  it('auth: none, file (hash settings as given, none meaning plain text), http; storage refused', async () => {
    const file = translated('auth:\n  - type: file\n    options: { users: fileLoad(users.yml), hash: sha512, iterations: 10, keyLength: 64 }\n').translation;
    assert.deepEqual(plugin(file.plugins, 'auth-file')!.options, { path: join(dir, 'users.yml'), hash: 'sha512', iterations: 10, keyLength: 64 });
    const plain = translated('auth:\n  - type: file\n    options: { users: fileLoad(users.yml) }\n').translation;
    assert.deepEqual(plugin(plain.plugins, 'auth-file')!.options, { path: join(dir, 'users.yml'), hash: false });
    assert.throws(() => translated('auth:\n  - type: file\n    options: { users: fileLoad(users.yml), hash: md5 }\n'), /auth\[0\]\.options\.iterations is required with hash/);

    const http = translated(
      'auth:\n  - type: http\n    options:\n      endpointUrl: https://auth.example/login\n      permittedStatusCodes: [200, 201]\n      requestTimeout: 1500\n      promoteToHeader: [token]\n      retryStatusCodes: [404, 504]\n      retryAttempts: 2\n      retryInterval: 100\n      fieldsToSend: [x]\n',
    );
    const httpUse = plugin(http.translation.plugins, 'auth-http')!;
    assert.deepEqual(await checked(httpUse), {
      endpointUrl: 'https://auth.example/login', permittedStatusCodes: [200, 201], requestTimeout: 1500, promoteToHeader: ['token'],
      retryStatusCodes: [404, 504], retryAttempts: 2, retryInterval: 100,
    });
    assert.ok(http.warnings.some((w) => w.includes('auth[0].fieldsToSend')), http.warnings.join('\n'));
    assert.equal(plugin(translated('auth:\n  - type: none\n').translation.plugins, 'auth-open')?.use, '@deepstream-ts/plugin-auth-open');
    assert.throws(() => translated('auth:\n  - type: storage\n'), /type: storage\) has no equivalent/);
    assert.throws(() => translated('auth:\n  - name: my-auth\n'), /custom authentication plugin "my-auth" cannot run here/);
    assert.throws(() => translated('auth:\n  - null\n'), /auth\[0\] must be a map with a type/);
  });

  it('permission: config (a file, or rules inline) and none', async () => {
    const config = translated('permission:\n  type: config\n  options: { permissions: fileLoad(permissions.yml), maxRuleIterations: 5, cacheEvacuationInterval: 1000 }\n').translation;
    assert.deepEqual(await checked(plugin(config.plugins, 'permissions-valve')!), {
      path: join(dir, 'permissions.yml'), maxRuleIterations: 5, cacheEvacuationInterval: 1000,
      watch: false, maxCachedSelections: 100_000, recordLoadTimeout: 5000, maxRuleLength: 4096, maxRuleDepth: 64,
    });
    const inline = translated('permission:\n  type: config\n  options:\n    permissions: { record: { "*": { read: true } } }\n').translation;
    assert.deepEqual(plugin(inline.plugins, 'permissions-valve')!.options, { permissions: { record: { '*': { read: true } } } });
    assert.equal(plugin(translated('permission: { type: none }\n').translation.plugins, 'permissions-valve'), undefined, 'none: no permission plugin, everything allowed');
  });

  it('cache and storage: default, redis, postgres, mongodb; anything else refused', async () => {
    const none = translated('cache: { type: default }\nstorage: { type: default }\n').translation;
    assert.equal(none.plugins.some((p) => /cache-|storage-/.test(p.use)), false, 'the defaults: in-process cache, no storage, as deepstream');

    const redis = translated('cache:\n  name: redis\n  options: { host: ${REDIS_HOST}, port: ${REDIS_PORT}, password: "p@ss", db: 2, ttl: 86400 }\n', { REDIS_HOST: 'cache.local', REDIS_PORT: '6380' }).translation;
    assert.deepEqual(await checked(plugin(redis.plugins, 'cache-redis')!), {
      url: 'redis://:p%40ss@cache.local:6380/2', ttl: 86400,
      mode: 'standalone', sentinels: [], sentinelName: 'mymaster', nodes: [], keyPrefix: 'ds:', connectTimeout: 5000,
    });
    const cluster = translated('cache:\n  name: redis\n  options:\n    nodes:\n      - { host: a, port: 7000 }\n      - { host: b, port: "7001" }\n').translation;
    const clusterOptions = (await checked(plugin(cluster.plugins, 'cache-redis')!)) as Record<string, unknown>;
    assert.equal(clusterOptions.mode, 'cluster');
    assert.deepEqual(clusterOptions.nodes, [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }]);

    const pg = translated('storage:\n  name: postgres\n  options: { user: ds, password: secret, host: db, port: 5433, database: app, schema: ds, max: 4, writeInterval: 200 }\n');
    const pgOptions = (await checked(plugin(pg.translation.plugins, 'storage-postgres')!)) as Record<string, unknown>;
    assert.equal(pgOptions.url, 'postgres://ds:secret@db:5433/app');
    assert.equal(pgOptions.poolSize, 4);
    assert.ok(pg.warnings.some((w) => /storage\.options\.schema dropped/.test(w)));
    assert.ok(pg.warnings.some((w) => /import-deepstream-cli\.ts --from/.test(w)), 'says how to move the data');

    const pgString = translated('storage:\n  name: postgres\n  options: { connectionString: "postgres://u@h/d" }\n').translation;
    assert.deepEqual(plugin(pgString.plugins, 'storage-postgres')!.options, { url: 'postgres://u@h/d' });

    const mongo = translated('storage:\n  name: mongodb\n  options: { connectionString: "mongodb://m:27017", db: app, defaultCollection: recs, splitChar: / }\n');
    assert.deepEqual(plugin(mongo.translation.plugins, 'storage-mongodb')!.options, { url: 'mongodb://m:27017', database: 'app', collection: 'recs' });

    assert.throws(() => translated('storage: { name: rethinkdb }\n'), /storage "rethinkdb": no storage connector here/);
    assert.throws(() => translated('cache: { name: hazelcast }\n'), /cache "hazelcast": no cache connector/);
  });

  it('clusterNode: default is a single node; redis with the registry timings', async () => {
    const cluster = translated('clusterNode:\n  name: redis\n  options: { host: r, port: 6390 }\nclusterRegistry:\n  type: default\n  options: { keepAliveInterval: 1000, nodeInactiveTimeout: 3000, activeCheckInterval: 500 }\n');
    const options = (await checked(plugin(cluster.translation.plugins, 'cluster-redis')!)) as Record<string, unknown>;
    assert.equal(options.url, 'redis://r:6390');
    assert.equal(options.keepAliveInterval, 1000);
    assert.equal(options.nodeTimeout, 3000);
    assert.ok(cluster.warnings.some((w) => w.includes('activeCheckInterval')));
    assert.equal(translated('clusterNode: { type: default }\n').translation.plugins.some((p) => p.use.includes('cluster')), false);
    assert.throws(() => translated('clusterNode: { name: vertical }\n'), /only a redis cluster/);
  });

  it('connectionEndpoints: ws-binary options, the http endpoint, text/JSON/MQTT dropped, no ws-binary refused', async () => {
    const { translation, warnings } = translated(`connectionEndpoints:
  - type: ws-binary
    options: { urlPath: /ws, heartbeatInterval: 10000, unauthenticatedClientTimeout: false, maxAuthAttempts: 5, maxMessageSize: 2048, outgoingBufferTimeout: 10, headers: [user-agent] }
  - type: ws-text
  - type: mqtt
    options: { port: 1883 }
  - null
  - type: http
    options: { allowAuthData: false, enableAuthEndpoint: true, authPath: /auth, postPath: /post, getPath: /get, requestTimeout: 1000 }
httpServer:
  type: default
  options: { host: 127.0.0.1, port: 7000, healthCheckPath: /healthz, allowAllOrigins: false, origins: ['https://app.example'], maxMessageSize: 4096 }
`);
    assert.deepEqual(translation.settings, {
      host: '127.0.0.1', port: 7000,
      connection: { path: '/ws', heartbeatInterval: 10000, maxAuthAttempts: 5, maxMessageSize: 2048, unauthenticatedClientTimeout: false },
    });
    const api = (await checked(plugin(translation.plugins, 'http-api')!)) as Record<string, unknown>;
    assert.deepEqual(
      { allowAuthData: api.allowAuthData, authPath: api.authPath, postPath: api.postPath, getPath: api.getPath, requestTimeout: api.requestTimeout, allowAllOrigins: api.allowAllOrigins, origins: api.origins, maxMessageSize: api.maxMessageSize },
      { allowAuthData: false, authPath: '/auth', postPath: '/post', getPath: '/get', requestTimeout: 1000, allowAllOrigins: false, origins: ['https://app.example'], maxMessageSize: 4096 },
    );
    assert.deepEqual(plugin(translation.plugins, 'health')!.options, { path: '/healthz' });
    const dropped = translation.dropped.map((d) => d.key);
    for (const key of ['connectionEndpoints[0].options.outgoingBufferTimeout', 'connectionEndpoints[0].options.headers', 'connectionEndpoints[1] (ws-text)', 'connectionEndpoints[2] (mqtt)']) {
      assert.ok(dropped.includes(key), `${key} in ${dropped.join(', ')}`);
      assert.equal(warnings.filter((w) => w.includes(`key ${key} dropped`)).length, 1, `one warning for ${key}`);
    }
    assert.throws(() => translated('connectionEndpoints:\n  - type: http\n'), /no ws-binary endpoint/);
  });

  it('httpServer.ssl: fileLoad() and file() both become the path, so key material stays in its file', () => {
    const loaded = translated('httpServer:\n  type: default\n  options:\n    ssl: { key: fileLoad(key.pem), cert: file(key.pem), passphrase: ${KEY_PASS} }\n', { KEY_PASS: 'pw' }).translation;
    assert.deepEqual(loaded.settings.tls, { key: join(dir, 'key.pem'), cert: join(dir, 'key.pem'), passphrase: 'pw' });
    const inline = translated('httpServer:\n  options:\n    ssl: { key: "-----BEGIN PRIVATE KEY-----", cert: file(key.pem) }\n').translation;
    assert.equal((inline.settings.tls as { key: string }).key, '-----BEGIN PRIVATE KEY-----', 'PEM text written inline stays text');
  });

  it('record, rpc and listen options carry over by name', async () => {
    const { translation } = translated(`record: { cacheRetrievalTimeout: 100, storageRetrievalTimeout: 200, storageExclusionPrefixes: [tmp/], storageHotPathPrefixes: null }
rpc: { ackTimeout: 50, responseTimeout: 500, provideRequestorName: true, provideRequestorData: true }
listen: { shuffleProviders: false, responseTimeout: 100, rematchInterval: 5000, matchCooldown: 1000 }
`);
    const records = (await checked(plugin(translation.plugins, 'plugin-records')!)) as Record<string, unknown>;
    assert.deepEqual([records.cacheRetrievalTimeout, records.storageRetrievalTimeout, records.storageExclusionPrefixes, records.storageHotPathPrefixes], [100, 200, ['tmp/'], []]);
    const rpc = (await checked(plugin(translation.plugins, 'plugin-rpc')!)) as Record<string, unknown>;
    assert.deepEqual([rpc.ackTimeout, rpc.responseTimeout, rpc.provideRequestorName, rpc.provideRequestorData], [50, 500, true, true]);
    const listening = (await checked(plugin(translation.plugins, 'plugin-listening')!)) as Record<string, unknown>;
    assert.deepEqual([listening.shuffleProviders, listening.responseTimeout, listening.rematchInterval, listening.matchCooldown], [false, 100, 5000, 1000]);
  });

  it('an unset ${NAME} becomes empty, as in deepstream, with a warning naming it; comments are no reference', () => {
    const { translation, warnings } = translated('# host: ${COMMENTED_OUT}\nserverName: "node-${NODE_SUFFIX}"\nshowLogo: false\n');
    assert.equal(translation.settings.serverName, 'node-');
    assert.deepEqual(warnings.filter((w) => w.includes('is not set')), ['${NODE_SUFFIX} is not set: replaced by an empty string, as deepstream does']);
  });

  it('custom plugins are refused; deepstream\'s own heap-snapshot and aws are dropped', () => {
    assert.throws(() => translated('plugins:\n  mine:\n    path: ./mine.js\n'), /plugins\.mine: the custom plugin/);
    assert.deepEqual(translated('plugins:\n  heap:\n    name: heap-snapshot\n').translation.dropped.map((d) => d.key), ['plugins.heap']);
  });
});
