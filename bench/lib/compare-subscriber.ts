/**
 * Event subscriber worker for bench/compare.ts: N raw connections, each logged in and subscribed
 * to one name ('bench' in `fanout` mode; t<first+i> in `topics` mode), each checking its EMIT
 * frames' sequence numbers (seq-payload.ts SeqChecker: nothing lost, repeated or reordered) and,
 * when asked, their latency from the publisher's timestamp.
 * argv: url mode(fanout|topics) count firstIndex payloadBytes
 */
import type { WebSocket } from 'ws';
import { connectInBatches, EVENT_EMIT_KIND, frameKind, keepAlive, login, PONG_KIND, subscribe } from './raw-client.ts';
import { resetSocket } from './seq-payload.ts';
import { Histogram, SeqChecker, monoMs, topicName } from './seq-payload.ts';
import type { CompareSubscriberCounts, FromCompareSubscriber, ToCompareSubscriber } from './compare-ipc.ts';

const [url, mode, countArg, firstArg, payloadArg] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countArg);
const first = Number(firstArg);
const payloadBytes = Number(payloadArg);
const PROGRESS_INTERVAL_MS = 5;

const send = (message: FromCompareSubscriber) => process.send?.(message);

interface Subscriber {
  ws: WebSocket;
  checker: SeqChecker;
  closed: boolean;
}

const subscribers: Subscriber[] = [];
const histogram = new Histogram();
let latencyOn = false;
const latencySink = { add: (us: number) => latencyOn && histogram.add(us) };
let firstAt = 0;
let lastAt = 0;
let other = 0;
let closed = 0;
let stopping = false;

async function connectOne(index: number): Promise<void> {
  const name = mode === 'topics' ? topicName(first + index) : 'bench';
  const ws = await login(url);
  await subscribe(ws, name);
  const subscriber: Subscriber = { ws, checker: new SeqChecker(name, payloadBytes, latencySink), closed: false };
  subscribers.push(subscriber);
  ws.on('message', (data: Buffer) => {
    const kind = frameKind(data);
    if (kind !== EVENT_EMIT_KIND) {
      if (kind !== PONG_KIND) other++;
      return;
    }
    lastAt = monoMs();
    if (firstAt === 0) firstAt = lastAt;
    subscriber.checker.onFrame(data);
  });
  ws.on('close', () => {
    subscriber.closed = true;
    if (!stopping) closed++;
  });
  ws.on('error', () => {});
}

function counts(): CompareSubscriberCounts {
  let min = Infinity;
  let max = 0;
  const total = { received: 0, gaps: 0, missing: 0, reordered: 0, badFrames: 0 };
  let verified = true;
  const problems: string[] = [];
  for (const { checker } of subscribers) {
    total.received += checker.received;
    total.gaps += checker.gaps;
    total.missing += checker.missing;
    total.reordered += checker.reordered;
    total.badFrames += checker.badFrames;
    min = Math.min(min, checker.received);
    max = Math.max(max, checker.received);
    if (checker.verified === false) verified = false;
    if (checker.problem !== undefined && problems.length < 5) problems.push(`${checker.name}: ${checker.problem}`);
  }
  return {
    connections: subscribers.length,
    ...total,
    minPerConnection: subscribers.length === 0 ? 0 : min,
    maxPerConnection: max,
    firstAt,
    lastAt,
    other,
    closed,
    verified,
    problems,
    latency: { pairs: histogram.sparse(), count: histogram.count, overflow: histogram.overflow, maxUs: histogram.maxUs },
  };
}

function stop(): void {
  stopping = true;
  // RST, not FIN: no TIME_WAIT left behind on the loopback (thousands per run slow later runs down).
  for (const s of subscribers) resetSocket(s.ws);
  process.exit(0);
}

process.on('message', (message: ToCompareSubscriber) => {
  if (message.type === 'report') send({ type: 'counts', counts: counts() });
  else if (message.type === 'latency') latencyOn = message.on;
  else if (message.type === 'stop') stop();
});
process.on('disconnect', stop);

try {
  await connectInBatches(count, connectOne);
  keepAlive(subscribers);
  let reportedMin = 0;
  let reportedSum = 0;
  setInterval(() => {
    let min = Infinity;
    let sum = 0;
    for (const s of subscribers) {
      sum += s.checker.received;
      if (!s.closed && s.checker.received < min) min = s.checker.received;
    }
    if (min === Infinity) min = reportedMin;
    if (min > reportedMin || sum > reportedSum) send({ type: 'progress', min: (reportedMin = min), sum: (reportedSum = sum) });
  }, PROGRESS_INTERVAL_MS).unref();
  send({ type: 'ready', connections: subscribers.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
