/**
 * MQTT benchmark: fan-out through the MQTT endpoint beside the same over WebSocket, in one run:
 * MQTT → N deepstream subscribers, deepstream → N MQTT, deepstream → N deepstream, MQTT → N MQTT.
 * Raw clients in this process; subscribers count bytes (every delivery of a run has the same size).
 *   npx tsx --conditions=source bench/mqtt.ts [--subscribers 100] [--duration 3]
 */
import { connect, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { cli } from './lib/args.ts';
import { cpuSeconds, deepstreamArgs, freePort, log, runBenchmark, sleep, startServer } from './lib/proc.ts';
import { connectInBatches, login, socketOf, subscribe } from './lib/raw-client.ts';
import { f, table } from './lib/report.ts';

const opt = cli({ subscribers: 'BENCH_SUBSCRIBERS', duration: 'BENCH_DURATION' });
const SUBSCRIBERS = opt.int('subscribers', 100, 1);
const DURATION_MS = opt.num('duration', 3, 0.1) * 1000;
const WARMUP_MS = 500;
const WINDOW = 200; // Publisher flow control: emits not yet delivered to every subscriber.
const PAYLOAD = JSON.stringify({ sensor: 'bench', value: 21.5, unit: 'C', seq: 123456 });

type Kind = 'mqtt' | 'ws';

/** bytes: of deliveries received so far; publish: sends one event, false while its socket is backed up. */
type Subscriber = { bytes(): number; close(): void };
type Publisher = { publish(): boolean; close(): void };

// ---- MQTT 3.1.1 packets, by hand (a few bytes each) --------------------------------------

function packet(type: number, body: Buffer): Buffer {
  const length: number[] = [];
  for (let n = body.length; length.length === 0 || n > 0; n = Math.floor(n / 128)) length.push((n % 128) | (n >= 128 ? 128 : 0));
  return Buffer.concat([Buffer.from([type, ...length]), body]);
}
const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) >> 8, Buffer.byteLength(s) & 255]), Buffer.from(s)]);
const mqttConnect = (clientId: string) => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 0]), str(clientId)]));
const mqttSubscribe = (topic: string) => packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(topic), Buffer.from([0])]));
const mqttPublish = (topic: string, payload: string) => packet(0x30, Buffer.concat([str(topic), Buffer.from(payload)]));
const CONNACK_AND_SUBACK = 4 + 5;

let clientNumber = 0;
function mqttSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function mqttSubscriber(port: number, topic: string): Promise<Subscriber> {
  const socket = await mqttSocket(port);
  let received = 0;
  socket.on('data', (chunk: Buffer) => void (received += chunk.length));
  socket.write(Buffer.concat([mqttConnect(`bench-sub-${clientNumber++}`), mqttSubscribe(topic)]));
  while (received < CONNACK_AND_SUBACK) await sleep(5);
  return { bytes: () => received - CONNACK_AND_SUBACK, close: () => socket.destroy() };
}

async function mqttPublisher(port: number, topic: string): Promise<Publisher> {
  const socket = await mqttSocket(port);
  let received = 0;
  socket.on('data', (chunk: Buffer) => void (received += chunk.length));
  socket.write(mqttConnect(`bench-pub-${clientNumber++}`));
  while (received < 4) await sleep(5);
  const frame = mqttPublish(topic, PAYLOAD);
  return { publish: () => socket.write(frame), close: () => socket.destroy() };
}

// ---- deepstream v7 over WebSocket ---------------------------------------------------------

async function wsSubscriber(url: string, topic: string): Promise<Subscriber> {
  const ws = await login(url);
  await subscribe(ws, topic);
  let received = 0;
  ws.on('message', (data: Buffer) => void (received += data.length));
  return { bytes: () => received, close: () => ws.terminate() };
}

async function wsPublisher(url: string, topic: string): Promise<Publisher> {
  const ws: WebSocket = await login(url);
  const frame = binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: topic, data: PAYLOAD });
  const socket = socketOf(ws);
  return { publish: () => (ws.send(frame), socket.writableLength < 64 * 1024), close: () => ws.terminate() };
}

/** Bytes one delivery takes at a subscriber of that kind. */
const deliverySize = (kind: Kind, topic: string) => (kind === 'mqtt' ? mqttPublish(topic, PAYLOAD) : binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: topic, data: PAYLOAD })).length;

// ---- one run ------------------------------------------------------------------------------

type Row = { path: string; deliveriesPerSec: number; serverCpuPercent: number; serverCpuUsPerDelivery: number };

async function run(from: Kind, to: Kind, urls: { ws: string; mqttPort: number }, serverPid: number): Promise<Row> {
  const topic = `bench/${from}-to-${to}/${Date.now()}`;
  const subscribers: Subscriber[] = [];
  await connectInBatches(SUBSCRIBERS, async () => void subscribers.push(await (to === 'mqtt' ? mqttSubscriber(urls.mqttPort, topic) : wsSubscriber(urls.ws, topic))));
  const publisher = from === 'mqtt' ? await mqttPublisher(urls.mqttPort, topic) : await wsPublisher(urls.ws, topic);
  const size = deliverySize(to, topic);
  const delivered = () => Math.floor(subscribers.reduce((bytes, s) => bytes + s.bytes(), 0) / size);
  let [published, running] = [0, true];
  const pump = (async () => {
    while (running) {
      // Keep at most WINDOW emits in flight, so that the figures are throughput, not queueing.
      if (published - delivered() / SUBSCRIBERS < WINDOW) {
        let ok = true;
        for (let i = 0; i < 20 && ok; i++, published++) ok = publisher.publish();
        await (ok ? new Promise((resolve) => setImmediate(resolve)) : sleep(1));
      } else await sleep(1);
    }
  })();
  await sleep(WARMUP_MS);
  const [cpu0, count0, t0] = [cpuSeconds(serverPid), delivered(), process.hrtime.bigint()];
  await sleep(DURATION_MS);
  const [cpu1, count1, seconds] = [cpuSeconds(serverPid), delivered(), Number(process.hrtime.bigint() - t0) / 1e9];
  running = false;
  await pump;
  publisher.close();
  for (const s of subscribers) s.close();
  await sleep(300);
  const deliveries = count1 - count0;
  const name = (k: Kind) => (k === 'mqtt' ? 'MQTT' : 'deepstream');
  return {
    path: `${name(from)} publisher → ${SUBSCRIBERS} ${name(to)} subscribers`,
    deliveriesPerSec: deliveries / seconds,
    serverCpuPercent: ((cpu1 - cpu0) / seconds) * 100,
    serverCpuUsPerDelivery: ((cpu1 - cpu0) * 1e6) / deliveries,
  };
}

await runBenchmark('bench/mqtt', 5 * 60_000, async () => {
  const mqttPort = await freePort();
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port, ['--config', 'bench/mqtt.config.ts']), env: { BENCH_MQTT_PORT: String(mqttPort) } });
  while (!(await mqttSocket(mqttPort).then((s) => (s.destroy(), true), () => false))) await sleep(100);
  const urls = { ws: server.url, mqttPort };
  log(`bench/mqtt: ${SUBSCRIBERS} subscribers, ${DURATION_MS / 1000} s per path, payload ${PAYLOAD.length} bytes; clients in this process, server pid ${server.pid}`);
  const rows: Row[] = [];
  for (const [from, to] of [['mqtt', 'ws'], ['ws', 'mqtt'], ['ws', 'ws'], ['mqtt', 'mqtt']] as Array<[Kind, Kind]>) rows.push(await run(from, to, urls, server.pid));
  console.log(`\n${table(['path', 'deliveries/s', 'server CPU', 'server CPU µs/delivery'], rows.map((r) => [r.path, f.count(r.deliveriesPerSec), f.pct(r.serverCpuPercent, 0), r.serverCpuUsPerDelivery.toFixed(2)]))}`);
  if (server.warnings.length > 0) log(`server warnings: ${server.warnings.length} (first: ${server.warnings[0]})`);
  await server.stop();
});
