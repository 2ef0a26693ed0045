/**
 * /metrics scraped after known traffic from official clients, raw clients and the HTTP API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, TOPIC, definePlugin, type PluginEntry } from '@deepstream-ts/core';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import { RawClient, startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import httpApi from '@deepstream-ts/plugin-http-api';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import listening from '@deepstream-ts/plugin-listening';
import { KERNEL_VERSION } from '@deepstream-ts/core';
import { readFile } from 'node:fs/promises';
import storageSqlite from '@deepstream-ts/storage-sqlite';
import metrics, { type MetricsOptions } from '@deepstream-ts/plugin-metrics-prometheus';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Refuses `mallory`; denies events under `secret/`; throws once in `ready`. */
const rules = definePlugin({
  name: 'test-rules',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => ((authData as { username?: string }).username === 'mallory' ? { isValid: false } : undefined));
    ctx.hooks.authorize.tap(ctx.name, ({ name }) => (name.startsWith('secret/') ? { allowed: false } : undefined));
    ctx.hooks.ready.tap(ctx.name, () => {
      throw new Error('faulty on purpose');
    });
  },
});

async function start(options: Partial<MetricsOptions> = {}, plugins: PluginEntry[] = []): Promise<TestServer & { scrape(): Promise<string> }> {
  const server = await startTestServer({
    plugins: [rules, authOpen, events, storageSqlite.with({ file: ':memory:' }), records, httpApi, metrics.with(options), ...plugins],
  });
  return {
    ...server,
    async scrape() {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      return response.text();
    },
  };
}

/** The value of one sample, e.g. `value(text, 'deepstream_logins_total', { result: 'failure' })`; undefined when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',').filter((pair) => pair !== '');
    if (present.length === wanted.length && wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  let server: Awaited<ReturnType<typeof start>>;
  let text: string;
  before(async () => {
    server = await start();
    const listener = new DeepstreamClient(server.url);
    await listener.login({ username: 'listener' });
    listener.event.subscribe('chat', () => undefined);
    const talker = new DeepstreamClient(server.url);
    await talker.login({ username: 'talker' });
    await pause(150);
    for (let i = 0; i < 3; i++) talker.event.emit('chat', { i });
    talker.event.emit('secret/plans', 1);
    await talker.record.setDataWithAck('doc/1', { a: 1 });

    const refused = await RawClient.connect(server.url);
    refused.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    refused.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"mallory"}' });
    await refused.next((m) => m.topic === TOPIC.AUTH);
    refused.close();

    const odd = await RawClient.login(server.url, { username: 'odd' });
    odd.send({ topic: TOPIC.EVENT, action: 99 as EVENT_ACTION, name: 'x' });
    await pause(50);
    odd.close();

    const reply = await fetch(`http://127.0.0.1:${server.port}/api`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ body: [{ topic: 'event', action: 'emit', eventName: 'chat', data: 'from http' }] }),
    });
    assert.equal(reply.status, 200);
    await pause(150);
    text = await server.scrape();
    listener.close();
    talker.close();
  });
  after(() => server.stop());

  it('counts messages in and out by topic and action', () => {
    assert.equal(value(text, 'deepstream_messages_received_total', { topic: 'EVENT', action: 'EMIT' }), 5, 'three chats, one secret, one over HTTP');
    assert.equal(value(text, 'deepstream_messages_sent_total', { topic: 'EVENT', action: 'EMIT' }), 4, 'delivered to the listener');
    assert.equal(value(text, 'deepstream_messages_received_total', { topic: 'RECORD', action: 'CREATEANDUPDATE' }), 1);
    assert.equal(value(text, 'deepstream_messages_sent_total', { topic: 'RECORD', action: 'WRITE_ACKNOWLEDGEMENT' }), 1);
  });

  it('puts actions it does not know under one UNKNOWN label, so clients cannot grow the label set', () => {
    assert.equal(value(text, 'deepstream_messages_received_total', { topic: 'UNKNOWN', action: 'UNKNOWN' }), 1);
  });

  it('counts logins by result and permission denials by topic', () => {
    assert.equal(value(text, 'deepstream_logins_total', { result: 'failure' }), 1);
    assert.equal(value(text, 'deepstream_logins_total', { result: 'success' }), 4, 'listener, talker, odd and the HTTP request');
    assert.equal(value(text, 'deepstream_permission_denials_total', { topic: 'EVENT', reason: 'denied' }), 1);
    assert.equal(value(text, 'deepstream_permission_denials_total', { topic: 'RECORD', reason: 'denied' }), 0);
  });

  it('counts connections by transport and logged-in sessions', () => {
    assert.equal(value(text, 'deepstream_connections_opened_total', { transport: 'websocket' }), 4);
    assert.equal(value(text, 'deepstream_connections_opened_total', { transport: 'http' }), 1);
    assert.equal(value(text, 'deepstream_connections', { transport: 'websocket' }), 2, 'the refused and the odd client have left');
    assert.equal(value(text, 'deepstream_connections', { transport: 'http' }), 0);
    assert.equal(value(text, 'deepstream_sessions_authenticated'), 2, 'HTTP requests are not logins');
  });

  it('counts plugin failures the kernel caught, by hook and plugin', () => {
    assert.equal(value(text, 'deepstream_hook_errors_total', { hook: 'ready', plugin: 'test-rules' }), 1);
  });

  it('times storage connector operations', () => {
    assert.ok((value(text, 'deepstream_connector_operation_duration_seconds_count', { connector: 'storage', operation: 'set' }) ?? 0) >= 1);
    assert.ok((value(text, 'deepstream_connector_operation_duration_seconds_count', { connector: 'storage', operation: 'get' }) ?? 0) >= 1);
    assert.equal(value(text, 'deepstream_connector_errors_total', { connector: 'storage', operation: 'set' }), undefined, 'no error, no sample');
  });

  it('exports Node.js process metrics, and no hook timings unless asked', () => {
    assert.ok(value(text, 'process_cpu_user_seconds_total') !== undefined);
    assert.ok(!text.includes('deepstream_hook_duration_seconds'));
  });

  it('answers other methods 405', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 405);
    assert.equal(await response.text(), 'Unsupported method. Supported methods: GET\r\n\r\n');
  });
});

describe('Prometheus metrics options', () => {
  it('times every hook tap by plugin with hookTimings, and honours path, prefix and processMetrics', async () => {
    const server = await startTestServer({
      plugins: [authOpen, events, metrics.with({ hookTimings: true, path: '/prom', prefix: 'ds_', processMetrics: false })],
    });
    try {
      const client = new DeepstreamClient(server.url);
      await client.login({ username: 'timed' });
      client.close();
      await pause(100);
      const text = await (await fetch(`http://127.0.0.1:${server.port}/prom`)).text();
      assert.equal(value(text, 'ds_hook_duration_seconds_count', { hook: 'authenticate', plugin: '@deepstream-ts/plugin-auth-open' }), 1);
      assert.equal(value(text, 'ds_hook_duration_seconds_count', { hook: 'disconnect', plugin: '@deepstream-ts/plugin-events' }), 1);
      assert.ok((value(text, 'ds_hook_duration_seconds_count', { hook: 'outbound', plugin: '@deepstream-ts/plugin-metrics-prometheus' }) ?? 0) >= 2);
      assert.equal(value(text, 'ds_connections_opened_total', { transport: 'websocket' }), 1);
      assert.equal(value(text, 'process_cpu_user_seconds_total'), undefined);
    } finally {
      await server.stop();
    }
  });

  it('refuses an invalid prefix at start', async () => {
    await assert.rejects(startTestServer({ plugins: [metrics.with({ prefix: 'bad-prefix' })] }), /DS_PLUGIN_OPTIONS_INVALID: plugin "@deepstream-ts\/plugin-metrics-prometheus": option "prefix" must be a valid Prometheus metric name prefix, got "bad-prefix"/);
  });
});

describe('Prometheus metrics of a cluster node', () => {
  it('reports the other nodes it sees, and joins and leaves', async () => {
    const onHub = clusterMemory.with({ hub: new MemoryHub() });
    const scraped = await startTestServer({ serverName: 'scraped', plugins: [authOpen, metrics, onHub] });
    const scrape = async () => (await fetch(`http://127.0.0.1:${scraped.port}/metrics`)).text();
    try {
      assert.equal(value(await scrape(), 'deepstream_cluster_peers'), 0);
      const other = await startTestServer({ serverName: 'other', plugins: [authOpen, onHub] });
      assert.equal(value(await scrape(), 'deepstream_cluster_peers'), 1);
      await other.stop();
      const text = await scrape();
      assert.equal(value(text, 'deepstream_cluster_peers'), 0);
      assert.equal(value(text, 'deepstream_cluster_membership_changes_total', { change: 'join' }), 1);
      assert.equal(value(text, 'deepstream_cluster_membership_changes_total', { change: 'leave' }), 1);
    } finally {
      await scraped.stop();
    }
  });
});

describe('Prometheus gauges of live state, behind a bearer token', () => {
  const token = 'scrape-secret';
  let server: TestServer;
  const scrape = async (headers: Record<string, string> = { Authorization: `Bearer ${token}` }) => fetch(`http://127.0.0.1:${server.port}/metrics`, { headers });
  const scrapeText = async () => {
    const response = await scrape();
    assert.equal(response.status, 200);
    return response.text();
  };
  before(async () => {
    server = await startTestServer({ plugins: [authOpen, listening, events, records, rpc, presence, metrics.with({ token, processMetrics: false })] });
  });
  after(() => server.stop());

  it('answers 401 without the token, or with a wrong one', async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${token}` }]) {
      const response = await scrape(headers);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.doesNotMatch(await response.text(), /deepstream_/);
    }
  });

  it('reports subscriptions per topic, online users, RPC and listen providers, pending RPCs, cached records and the build', async () => {
    const alice = new DeepstreamClient(server.url);
    await alice.login({ username: 'alice' });
    const bob = new DeepstreamClient(server.url);
    await bob.login({ username: 'bob' });
    const bobAgain = new DeepstreamClient(server.url);
    await bobAgain.login({ username: 'bob' });
    try {
      alice.event.subscribe('chat', () => undefined);
      bob.event.subscribe('chat', () => undefined);
      await alice.record.getRecord('doc/1').whenReady();
      bob.rpc.provide('slow', () => undefined); // never answers: the call stays pending
      bob.event.listen('news/.*', () => undefined);
      await pause(200);
      void alice.rpc.make('slow', {}).catch(() => undefined);
      await pause(150);
      let text = await scrapeText();
      assert.equal(value(text, 'deepstream_subscriptions', { topic: 'event' }), 2);
      assert.equal(value(text, 'deepstream_subscribed_names', { topic: 'event' }), 1);
      assert.equal(value(text, 'deepstream_subscriptions', { topic: 'record' }), 1);
      assert.equal(value(text, 'deepstream_online_users'), 2, 'bob twice is one user');
      assert.equal(value(text, 'deepstream_presence_online_users'), 2);
      assert.equal(value(text, 'deepstream_rpc_provided_names'), 1);
      assert.equal(value(text, 'deepstream_rpc_provider_sessions'), 1);
      assert.equal(value(text, 'deepstream_rpc_pending_calls'), 1);
      assert.equal(value(text, 'deepstream_listen_patterns', { topic: 'event' }), 1);
      assert.equal(value(text, 'deepstream_listen_patterns', { topic: 'record' }), 0);
      assert.equal(value(text, 'deepstream_cached_records'), 1);
      assert.equal(value(text, 'deepstream_build_info', { version: KERNEL_VERSION }), 1);
      // Every metric the shipped Grafana dashboard queries exists (its TYPE line is there even before a sample).
      const dashboard = await readFile(new URL('../grafana/deepstream.json', import.meta.url), 'utf8');
      const queried = new Set([...dashboard.matchAll(/\b(deepstream_[a-z_]+?)(?:_bucket)?\{/g)].map((m) => m[1]!));
      assert.ok(queried.size >= 15, `the dashboard queries ${queried.size} metrics`);
      const missing = [...queried].filter((name) => !text.includes(`# TYPE ${name} `));
      assert.deepEqual(missing, [], 'metrics the dashboard queries but /metrics does not export');

      alice.close();
      bob.close();
      bobAgain.close();
      await pause(200);
      text = await scrapeText();
      assert.equal(value(text, 'deepstream_subscriptions', { topic: 'event' }), 0);
      assert.equal(value(text, 'deepstream_online_users'), 0);
      assert.equal(value(text, 'deepstream_rpc_provided_names'), 0);
      assert.equal(value(text, 'deepstream_listen_patterns', { topic: 'event' }), 0);
    } finally {
      alice.close();
      bob.close();
      bobAgain.close();
    }
  });
});
