/**
 * What the operator console costs the message path: an in-process server with events only, then
 * with events and the console (its inbound, outbound and authorize taps), one raw publisher
 * emitting a burst to one raw subscriber. Alternates the two setups and prints the median rate of
 * each; compare the ratio within one run, not numbers across machines.
 *
 *   npx tsx bench/console.ts [messages per burst, default 20000] [rounds, default 3]
 */
import { EVENT_ACTION, TOPIC, type DeepstreamConfig } from '@deepstream-ts/core';
import { RawClient, startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import rpc from '@deepstream-ts/plugin-rpc';
import operatorConsole from '@deepstream-ts/plugin-console';

const burst = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);

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
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, values] of Object.entries(results)) console.log(`${name.padEnd(18)} ${Math.round(median(values)).toLocaleString('en')} emits/s delivered (median of ${rounds} bursts of ${burst})`);
