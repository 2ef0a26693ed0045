/**
 * What the operator console costs the message path: an in-process server with events, without and
 * with the console, one raw publisher bursting to one raw subscriber; the median rate of each.
 *   npx tsx --conditions=source bench/console.ts [--burst 20000] [--rounds 3]     (or positionally: [burst] [rounds])
 */
import { EVENT_ACTION, TOPIC, type DeepstreamConfig } from '@deepstream-ts/core';
import { RawClient, startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import rpc from '@deepstream-ts/plugin-rpc';
import operatorConsole from '@deepstream-ts/plugin-console';
import { cli } from './lib/args.ts';
import { median, table } from './lib/report.ts';

const opt = cli({ burst: '', rounds: '' });
const burst = opt.int('burst', Number(opt.positionals[0] ?? 20_000), 1);
const rounds = opt.int('rounds', Number(opt.positionals[1] ?? 3), 1);

async function rate(config: DeepstreamConfig): Promise<number> {
  const server = await startTestServer({ ...config, logLevel: 'silent' });
  try {
    const subscriber = await RawClient.login(server.url, { username: 'sub' });
    const publisher = await RawClient.login(server.url, { username: 'pub' });
    subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['bench'], correlationId: '1' });
    await subscriber.next((m) => m.isAck === true);
    let received = 0;
    const done = new Promise<void>((resolve) => subscriber.ws.on('message', () => ++received >= burst && resolve()));
    const started = performance.now();
    for (let i = 0; i < burst; i++) publisher.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'bench', data: '{"i":1}' });
    await done;
    const seconds = (performance.now() - started) / 1000;
    subscriber.close();
    publisher.close();
    return burst / seconds;
  } finally {
    await server.stop();
  }
}

const setups: Record<string, DeepstreamConfig> = {
  'events only': { plugins: [authOpen, events, rpc] },
  'events + console': { plugins: [authOpen, events, rpc, operatorConsole.with({ operators: ['ops'] })] },
};
const results: Record<string, number[]> = Object.fromEntries(Object.keys(setups).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) for (const [name, config] of Object.entries(setups)) results[name]!.push(await rate(config));
console.log(table(['setup', `emits/s delivered (median of ${rounds} bursts of ${burst})`], Object.entries(results).map(([name, values]) => [name, Math.round(median(values)).toLocaleString('en')])));
