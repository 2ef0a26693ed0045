/**
 * The one load worker: forked by proc.ts forkWorker with a WorkerConfig (argv[2], JSON) naming its
 * role, it opens its raw connections (raw-client.ts login), says `ready` and follows the script's
 * messages (proc.ts ToWorker). Roles: publisher (sequence-numbered EMITs round robin over `names`),
 * subscriber (`count` connections on `names`, events or record broadcasts, every frame through a
 * SeqChecker), record-writer (the record's only writer, PATCH v+1, v+2, …), rpc-provider, rpc-requester
 * (closed loops, one call in flight each), connector-writer (each the only writer of its record,
 * `window` acked writes in flight), idle (logged in, silent but for PINGs).
 */
import type { WebSocket } from 'ws';
import { RECORD_ACTION, RPC_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import { EmitTemplate, Histogram, SeqChecker, eventFormat, recordFormat } from './checks.ts';
import { drained, Progress, sendFor, type SendStats } from './flow-control.ts';
import type { ConnectorResult, FromWorker, Go, RequesterResult, SendResult, SubscriberCounts, ToWorker, WorkerConfig, WriterCounts } from './proc.ts';
import {
  connectInBatches, describe, EVENT_EMIT_KIND, frameKind, jsonPayload, keepAlive, kindName, login, monoMs, monoUs, PONG_KIND,
  RECORD_PATCH_KIND, RECORD_UPDATE_KIND, request, resetSocket, socketOf, subscribe, subscribeRecord, WRITE_ACK_KIND,
} from './raw-client.ts';

const config = JSON.parse(process.argv[2] as string) as WorkerConfig;
const send = (message: FromWorker) => process.send?.(message);
const MAX_SAMPLES = 5;
const PROGRESS_INTERVAL_MS = 5;
const DRAIN_TIMEOUT_MS = 10_000; // How long calls or acknowledged writes still in flight after the window are waited for.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Connection = { ws: WebSocket; closed: boolean };
/** Every connection of this worker: reset on stop (RST, so no TIME_WAIT piles up on the loopback). */
const connections: Connection[] = [];
let stopping = false;
let closedByServer = 0;
/** Role handlers of the script's messages. */
const on: { go?: (go: Go) => void; progress?: (delivered: number) => void; report?: () => void; latency?: (enabled: boolean) => void; stop?: () => void } = {};

function stop(): void {
  stopping = true;
  on.stop?.();
  for (const c of connections) resetSocket(c.ws);
  setTimeout(() => process.exit(0), 50);
}
process.on('message', (m: ToWorker) => {
  if (m.type === 'go') on.go?.(m.go);
  else if (m.type === 'progress') on.progress?.(m.delivered);
  else if (m.type === 'report') on.report?.();
  else if (m.type === 'latency') on.latency?.(m.on);
  else stop();
});
process.on('disconnect', stop); // the script is gone

/** Logs in, tracks the connection (closed by the server: counted, and `onClose` called). */
async function connect(url: string, onClose?: () => void): Promise<Connection> {
  const c: Connection = { ws: await login(url), closed: false };
  c.ws.on('error', () => {});
  c.ws.on('close', () => {
    c.closed = true;
    if (!stopping) {
      closedByServer++;
      onClose?.();
    }
  });
  connections.push(c);
  return c;
}

const fail = (what: string) => () => send({ type: 'error', message: `${what} connection closed by the server` });
/** Counts a frame nobody expected by kind ("RECORD VERSION_EXISTS") and keeps the first few in full. */
function tally(counts: Record<string, number>, samples: string[], m: Message | undefined, note = '', prefix = ''): void {
  counts[kindName(m) + note] = (counts[kindName(m) + note] ?? 0) + 1;
  if (samples.length < MAX_SAMPLES) samples.push(`${prefix}${describe(m)}${note}`);
}
const ready = (versionMin = -1, versionMax = versionMin) => send({ type: 'ready', connections: connections.length, versionMin, versionMax });

/** The one sender loop (publisher, record writer): the window, then `sent`, the drain, then `done`. */
async function sendWindow(ws: WebSocket, go: Go, progress: Progress, frame: (i: number) => Uint8Array, startVersion = -1, beforeBatch?: () => void): Promise<void> {
  const startAt = monoMs();
  const stats: SendStats = await sendFor(ws, { durationMs: go.durationMs, maxLagMs: go.maxLagMs ?? 0, rate: go.rate ?? 0, progress, frame, beforeBatch });
  const sendEndAt = monoMs();
  send({ type: 'sent', sent: stats.sent });
  await drained(ws);
  const result: SendResult = { ...stats, startVersion, startAt, sendEndAt, drainedAt: monoMs() };
  send({ type: 'done', result });
}

async function publisher(c: Extract<WorkerConfig, { role: 'publisher' }>): Promise<void> {
  const templates = c.names.map((name) => new EmitTemplate(name, c.payloadBytes));
  const { ws } = await connect(c.url, fail('publisher'));
  const progress = new Progress();
  on.progress = (delivered) => progress.advance(delivered);
  let ts = 0; // one timestamp per batch
  const n = templates.length;
  on.go = (go) => void sendWindow(ws, go, progress, (i) => (templates[i % n] as EmitTemplate).stamp(Math.floor(i / n) + 1, ts), -1, () => (ts = monoUs()));
  ready();
}

async function subscriber(c: Extract<WorkerConfig, { role: 'subscriber' }>): Promise<void> {
  const data = jsonPayload(c.payloadBytes);
  const histogram = new Histogram();
  const sink = { on: false, add: (us: number) => histogram.add(us) };
  const subs: Array<Connection & { checker: SeqChecker; name: string }> = [];
  let [firstAt, lastAt] = [0, 0];
  const other: Record<string, number> = {};
  const samples: string[] = [];
  const expectedKind = (kind: number) => (c.record === true ? kind === RECORD_PATCH_KIND || kind === RECORD_UPDATE_KIND : kind === EVENT_EMIT_KIND);

  await connectInBatches(c.count, async (i) => {
    const name = c.names[i % c.names.length] as string;
    const conn = await connect(c.url);
    const onFrame = (frame: Buffer) => {
      const kind = frameKind(frame);
      if (expectedKind(kind)) {
        lastAt = monoMs();
        if (firstAt === 0) firstAt = lastAt;
        sub.checker.onFrame(frame);
      } else if (kind !== PONG_KIND) tally(other, samples, binaryCodec.decode(frame), '', 'received ');
    };
    const sub = Object.assign(conn, { name, checker: new SeqChecker(eventFormat(name, c.payloadBytes), 1, sink) });
    if (c.record === true) {
      // The listener goes on inside the handler that saw the READ_RESPONSE: no frame slips past.
      await subscribeRecord(conn.ws, name, (version) => {
        sub.checker = new SeqChecker(recordFormat(name, data), version + 1);
        conn.ws.on('message', onFrame);
      });
    } else {
      await subscribe(conn.ws, name);
      conn.ws.on('message', onFrame);
    }
    subs.push(sub);
  });
  keepAlive(subs);

  on.latency = (enabled) => (sink.on = enabled);
  on.report = () => {
    const t: SubscriberCounts = { connections: subs.length, received: 0, minPerConnection: Infinity, maxPerConnection: 0, firstAt, lastAt, closed: closedByServer, verified: true, gaps: 0, missing: 0, backwards: 0, bad: 0, versionMin: Infinity, versionMax: -Infinity, other, samples: [...samples], latency: histogram.snapshot() };
    for (const { checker: k, name } of subs) {
      for (const key of ['received', 'gaps', 'missing', 'backwards', 'bad'] as const) t[key] += k[key];
      t.minPerConnection = Math.min(t.minPerConnection, k.received);
      t.maxPerConnection = Math.max(t.maxPerConnection, k.received);
      t.versionMin = Math.min(t.versionMin, k.next - 1);
      t.versionMax = Math.max(t.versionMax, k.next - 1);
      if (k.verified === false) t.verified = false;
      if (k.problem !== undefined && t.samples.length < MAX_SAMPLES) t.samples.push(`${name}: ${k.problem}`);
    }
    if (subs.length === 0) Object.assign(t, { minPerConnection: 0, versionMin: -1, versionMax: -1 });
    send({ type: 'counts', counts: t });
  };
  let reported = { min: 0, sum: 0 };
  setInterval(() => {
    let min = Infinity;
    let sum = 0;
    for (const s of subs) {
      sum += s.checker.received;
      if (!s.closed && s.checker.received < min) min = s.checker.received;
    }
    if (min === Infinity) min = reported.min; // every connection closed: they no longer hold the sender back
    if (min > reported.min || sum > reported.sum) send({ type: 'progress', ...(reported = { min, sum }) });
  }, PROGRESS_INTERVAL_MS).unref();
  const versions = subs.map((s) => s.checker.next - 1);
  ready(Math.min(...versions), Math.max(...versions));
}

async function recordWriter(c: Extract<WorkerConfig, { role: 'record-writer' }>): Promise<void> {
  const data = jsonPayload(c.payloadBytes);
  const counts: WriterCounts = { acked: 0, lastAckAt: 0, acksOutOfOrder: 0, errors: {}, errorSamples: [], closed: false };
  let [version, nextAck, ack, delivered] = [-1, 0, false, 0];
  const progress = new Progress();
  /** A write is complete once every subscriber has it and, with `ack`, once it is acknowledged. */
  const advance = () => progress.advance(ack ? Math.min(delivered, counts.acked) : delivered);
  const { ws } = await connect(c.url, () => ((counts.closed = true), fail('writer')()));
  await subscribeRecord(ws, c.record, (v) => {
    version = v;
    ws.on('message', (frame: Buffer) => {
      const kind = frameKind(frame);
      if (kind === PONG_KIND) return;
      const m = binaryCodec.decode(frame);
      if (kind === WRITE_ACK_KIND && m?.isWriteAck === true && m.name === c.record) {
        const id = Number(m.correlationId);
        if (id !== nextAck) counts.acksOutOfOrder++;
        nextAck = id + 1;
        counts.acked++;
        counts.lastAckAt = monoMs();
        return advance();
      }
      tally(counts.errors, counts.errorSamples, m);
    });
  });
  keepAlive([{ ws }]);
  const patch = (): Uint8Array => {
    const message: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.PATCH, name: c.record, version: ++version, path: 'value', data };
    if (ack) Object.assign(message, { isWriteAck: true, correlationId: String(version) });
    return binaryCodec.encode(message);
  };
  on.progress = (value) => value > delivered && ((delivered = value), advance());
  on.report = () => send({ type: 'counts', counts });
  on.go = (go) => {
    ack = go.ack === true;
    nextAck = version + 1;
    void sendWindow(ws, go, progress, patch, version);
  };
  ready(version);
}

async function rpcProvider(c: Extract<WorkerConfig, { role: 'rpc-provider' }>): Promise<void> {
  const { ws } = await connect(c.url, fail('provider'));
  await request(ws, { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: [c.name ?? 'bench'], correlationId: 'p' }, (m) => m.topic === TOPIC.RPC && m.action === RPC_ACTION.PROVIDE && m.isAck === true, 'RPC PROVIDE ack');
  const socket = socketOf(ws);
  const REQUEST_KIND = TOPIC.RPC * 256 + RPC_ACTION.REQUEST;
  let [answered, corked] = [0, false];
  ws.on('message', (frame: Buffer) => {
    const call = frameKind(frame) === REQUEST_KIND ? binaryCodec.decode(frame) : undefined;
    if (call === undefined) return;
    if (!corked) {
      // Everything answered in one event-loop turn leaves in one writev.
      corked = true;
      socket.cork();
      setImmediate(() => ((corked = false), socket.uncork()));
    }
    const reply = { topic: TOPIC.RPC, name: call.name, correlationId: call.correlationId };
    if (c.accept) ws.send(binaryCodec.encode({ ...reply, action: RPC_ACTION.ACCEPT }));
    ws.send(binaryCodec.encode({ ...reply, action: RPC_ACTION.RESPONSE, data: call.data }));
    answered++;
  });
  on.stop = () => send({ type: 'answered', count: answered });
  ready();
}

async function rpcRequester(c: Extract<WorkerConfig, { role: 'rpc-requester' }>): Promise<void> {
  const payload = jsonPayload(c.payloadBytes);
  const RESPONSE_KIND = TOPIC.RPC * 256 + RPC_ACTION.RESPONSE;
  const ACCEPT_KIND = TOPIC.RPC * 256 + RPC_ACTION.ACCEPT;
  type Requester = { ws: WebSocket; frame: Uint8Array; id: string; sentAt: number; inFlight: boolean; checked: boolean };
  let phase: 'idle' | 'warmup' | 'measuring' | 'draining' = 'idle';
  let [completed, errors, verified, firstError] = [0, 0, true, undefined as string | undefined];
  const latency = new Histogram();
  const requesters: Requester[] = [];
  // Every connection reuses one pre-encoded REQUEST (its own correlationId): one call in flight each.
  const fire = (r: Requester) => {
    if (phase !== 'warmup' && phase !== 'measuring') return;
    r.inFlight = true;
    r.sentAt = performance.now();
    r.ws.send(r.frame);
  };
  await connectInBatches(c.count, async (i) => {
    const { ws } = await connect(c.url, () => phase !== 'idle' && phase !== 'draining' && fail('a requester')());
    const id = `r${i}`;
    const r: Requester = { ws, id, frame: binaryCodec.encode({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'bench', correlationId: id, data: payload }), sentAt: 0, inFlight: false, checked: false };
    ws.on('message', (frame: Buffer) => {
      const kind = frameKind(frame);
      if (kind === ACCEPT_KIND || (kind !== RESPONSE_KIND && kind >> 8 !== TOPIC.RPC)) return;
      if (kind !== RESPONSE_KIND) {
        errors++;
        firstError ??= JSON.stringify(binaryCodec.decode(frame));
      } else {
        if (!r.checked) {
          r.checked = true;
          const m = binaryCodec.decode(frame);
          if (!(m?.topic === TOPIC.RPC && m.action === RPC_ACTION.RESPONSE && m.name === 'bench' && m.correlationId === id && m.data === payload)) {
            verified = false;
            process.stderr.write(`requester worker: unexpected first RESPONSE ${JSON.stringify(m)}\n`);
          }
        }
        if (phase === 'measuring') {
          completed++;
          latency.add((performance.now() - r.sentAt) * 1000);
        }
      }
      r.inFlight = false;
      fire(r);
    });
    requesters.push(r);
  });
  on.go = async (go) => {
    phase = 'warmup';
    for (const r of requesters) fire(r);
    await sleep(go.warmupMs ?? 0);
    phase = 'measuring';
    const start = performance.now();
    await sleep(go.durationMs);
    phase = 'draining';
    const windowMs = performance.now() - start;
    send({ type: 'measured' });
    const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
    while (requesters.some((r) => r.inFlight) && performance.now() < giveUp) await sleep(5);
    const result: RequesterResult = { connections: requesters.length, completed, windowMs, latency: latency.snapshot(), errors, firstError, unanswered: requesters.filter((r) => r.inFlight).length, verified: verified && requesters.every((r) => r.checked) };
    send({ type: 'done', result });
  };
  on.stop = () => (phase = 'idle');
  ready();
}

async function connectorWriter(c: Extract<WorkerConfig, { role: 'connector-writer' }>): Promise<void> {
  const data = jsonPayload(c.payloadBytes);
  type Writer = { conn: Connection; name: string; version: number; inFlight: Map<number, number>; inWindow: number; lastAcked: number; stopped: boolean };
  const latency = new Histogram();
  const r = { written: 0, acked: 0, ackedInWindow: 0, outOfOrder: 0, stoppedByError: 0, errors: {} as Record<string, number>, errorSamples: [] as string[] };
  /** performance.now() bounds of the measured window; writes are sent while now < measureEnd. */
  let [measureStart, measureEnd] = [Infinity, -Infinity];
  const write = (w: Writer) => {
    const version = ++w.version;
    w.inFlight.set(version, performance.now());
    // The first write is CREATEANDUPDATE v1, the next ones UPDATE v2, 3, …; the version is the correlationId.
    w.conn.ws.send(binaryCodec.encode({ topic: TOPIC.RECORD, action: version === 1 ? RECORD_ACTION.CREATEANDUPDATE : RECORD_ACTION.UPDATE, name: w.name, version, data, isWriteAck: true, correlationId: String(version) }));
    r.written++;
  };
  const unexpected = (w: Writer, m: Message | undefined, note = '') => tally(r.errors, r.errorSamples, m, note, `${w.name}: `);
  const writers: Writer[] = [];
  await connectInBatches(c.names.length, async (i) => {
    const w: Writer = { conn: await connect(c.url), name: c.names[i] as string, version: 0, inFlight: new Map(), inWindow: 0, lastAcked: 0, stopped: false };
    writers[i] = w; // in the order of `names`, whatever order the logins finish in
    w.conn.ws.on('message', (frame: Buffer) => {
      const kind = frameKind(frame);
      if (kind === PONG_KIND) return;
      const now = performance.now();
      const m = binaryCodec.decode(frame);
      if (kind === WRITE_ACK_KIND && m?.isWriteAck === true && m.name === w.name) {
        const version = Number(m.correlationId);
        const sentAt = w.inFlight.get(version);
        if (sentAt === undefined) return unexpected(w, m, ' (not in flight)');
        if (w.inFlight.keys().next().value !== version) r.outOfOrder++;
        w.inFlight.delete(version);
        r.acked++;
        w.lastAcked = Math.max(w.lastAcked, version);
        if (now >= measureStart && now < measureEnd) {
          r.ackedInWindow++;
          w.inWindow++;
          latency.add((now - sentAt) * 1000);
        }
        if (!w.stopped && now < measureEnd) write(w);
        return;
      }
      unexpected(w, m);
      // A refused write: its slot is free, but the record's versions no longer follow ours.
      if (w.inFlight.delete(Number(m?.correlationId)) && !w.stopped) {
        w.stopped = true;
        r.stoppedByError++;
      }
    });
  });
  keepAlive(connections);
  on.go = (go) => {
    const start = (go.startAt ?? monoMs()) - monoMs() + performance.now();
    measureStart = start + (go.warmupMs ?? 0);
    measureEnd = measureStart + go.durationMs;
    setTimeout(() => {
      for (const w of writers) for (let i = 0; i < (go.window ?? 1) && !w.conn.closed; i++) write(w);
    }, Math.max(0, start - performance.now()));
    setTimeout(async () => {
      const giveUp = performance.now() + DRAIN_TIMEOUT_MS;
      const pending = () => writers.reduce((sum, w) => sum + (w.conn.closed ? 0 : w.inFlight.size), 0);
      while (pending() > 0 && performance.now() < giveUp) await sleep(5);
      const result: ConnectorResult = { ...r, perWriterInWindow: writers.map((w) => w.inWindow), lastAcked: writers.map((w) => w.lastAcked), lastSent: writers.map((w) => w.version), latency: latency.snapshot(), unacked: writers.reduce((sum, w) => sum + w.inFlight.size, 0), closed: closedByServer };
      send({ type: 'done', result });
    }, Math.max(0, measureEnd - performance.now()));
  };
  ready();
}

/** Idle: logged in, then a PING per connection every `pingMs` (default PING_INTERVAL_MS); reports the PONGs answered. */
async function idle(c: Extract<WorkerConfig, { role: 'idle' }>): Promise<void> {
  let pongs = 0;
  const countPong = (frame: Buffer) => void (frameKind(frame) === PONG_KIND && pongs++);
  await connectInBatches(c.count, async () => void (await connect(c.url, fail('an idle'))).ws.on('message', countPong));
  keepAlive(connections, c.pingMs);
  on.report = () => send({ type: 'answered', count: pongs });
  ready();
}

const roles = { publisher, subscriber, 'record-writer': recordWriter, 'rpc-provider': rpcProvider, 'rpc-requester': rpcRequester, 'connector-writer': connectorWriter, idle } as const;
try {
  await (roles[config.role] as (c: WorkerConfig) => Promise<void>)(config);
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
