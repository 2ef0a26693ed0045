/**
 * The order of the `plugins` list does not matter (but for the order in which authentication
 * strategies are asked): the loader orders plugins by what they provide and need. The same config,
 * shuffled, starts and behaves the same with the official client.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import type { PluginEntry } from '@deepstream-ts/core';
import { startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import health from '@deepstream-ts/plugin-health';
import httpApi from '@deepstream-ts/plugin-http-api';
import listening from '@deepstream-ts/plugin-listening';
import metrics from '@deepstream-ts/plugin-metrics-prometheus';
import valve from '@deepstream-ts/plugin-permissions-valve';
import presence from '@deepstream-ts/plugin-presence';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import storageSqlite from '@deepstream-ts/storage-sqlite';

const PLUGINS: PluginEntry[] = [
  authOpen,
  events,
  records,
  storageSqlite.with({ file: ':memory:' }),
  listening,
  rpc,
  presence,
  valve.with({
    permissions: {
      record: { '*': { create: true, read: true, write: 'data.n >= 0', delete: true, listen: true, notify: true } },
      event: { '*': { publish: true, subscribe: true, listen: true } },
      rpc: { '*': { provide: true, request: true } },
      presence: { '*': { allow: true } },
    },
  }),
  httpApi,
  health,
  metrics,
];

/** A fixed permutation per seed (a small LCG), so a failure names an order that can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function behaviour(url: string, base: string): Promise<Record<string, unknown>> {
  const options = { subscriptionInterval: 10 } as never;
  const [a, b] = [new DeepstreamClient(url, options), new DeepstreamClient(url, options)];
  try {
    await Promise.all([a.login({ username: 'a' }), b.login({ username: 'b' })]);
    const event = new Promise((resolve) => b.event.subscribe('order/event', resolve));
    const listened = new Promise<string>((resolve) =>
      a.record.listen('order/listened/.*', (name, response) => {
        response.accept();
        resolve(name);
      }),
    );
    await pause(100);
    a.event.emit('order/event', 'hello');
    await a.record.setDataWithAck('order/record', { n: 1 });
    const denied = await (a.record.setDataWithAck('order/record', { n: -1 }) as Promise<unknown>).then(() => 'written', String);
    b.rpc.provide('order/double', (x: number, response: { send(v: unknown): void }) => response.send(x * 2));
    await pause(100);
    b.record.getRecord('order/listened/1');
    const http = await fetch(`${base}/api`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: [{ topic: 'record', action: 'read', recordName: 'order/record' }] }),
    }).then((response) => response.json() as Promise<{ result: string; body: Array<{ data?: unknown }> }>);
    return {
      event: await event,
      record: await b.record.snapshot('order/record'),
      denied,
      rpc: await a.rpc.make('order/double', 21),
      listened: await listened,
      online: await a.presence.getAll(['b']),
      http: [http.result, http.body[0]?.data],
      health: (await fetch(`${base}/health-check`)).status,
      metrics: (await fetch(`${base}/metrics`)).status,
    };
  } finally {
    a.close();
    b.close();
  }
}

describe('the order of the plugins list', () => {
  it('does not change what starts or how it behaves', async () => {
    const outcomes: Array<Record<string, unknown>> = [];
    for (const seed of [0, 1, 7, 42]) {
      const plugins = seed === 0 ? PLUGINS : shuffled(PLUGINS, seed);
      const server = await startTestServer({ plugins });
      try {
        outcomes.push({ plugins: [...server.kernel.pluginNames].sort(), ...(await behaviour(server.url, `http://127.0.0.1:${server.port}`)) });
      } finally {
        await server.stop();
      }
    }
    assert.deepEqual(outcomes[0], {
      plugins: outcomes[0]!.plugins,
      event: 'hello',
      record: { n: 1 },
      denied: 'MESSAGE_DENIED',
      rpc: 42,
      listened: 'order/listened/1',
      online: { b: true },
      http: ['SUCCESS', { n: 1 }],
      health: 200,
      metrics: 200,
    });
    for (const [i, outcome] of outcomes.entries()) assert.deepEqual(outcome, outcomes[0], `order ${i} behaves like the listed order`);
  });
});
