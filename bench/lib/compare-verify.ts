/**
 * Checks bench/compare.ts's raw load generators against the official @deepstream/client on a
 * running server, both ways round (bench/README.md lists the six checks): what the raw generators
 * send must reach official clients as what an official client would have sent, and what official
 * clients send must pass the raw generators' checks.
 */
import type { WebSocket } from 'ws';
import { DeepstreamClient } from '@deepstream/client';
import { RECORD_ACTION, RPC_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { EmitTemplate, eventFormat, payloadObject, recordFormat, SeqChecker } from './checks.ts';
import { forkWorker, nextMessage, stopWorkers, type Worker } from './proc.ts';
import { EVENT_EMIT_KIND, frameKind, jsonPayload, login, monoUs, RECORD_PATCH_KIND, RECORD_UPDATE_KIND, request, subscribe, subscribeRecord } from './raw-client.ts';

const N = 200;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  for (const giveUp = Date.now() + timeoutMs; !check(); await sleep(10)) if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
}

export interface VerifyResult {
  ok: boolean;
  checks: Array<{ check: string; ok: boolean; detail: string }>;
}

export async function verifyLoadGenerator(url: string, payloadBytes: number): Promise<VerifyResult> {
  const checks: VerifyResult['checks'] = [];
  const a = new DeepstreamClient(url);
  const b = new DeepstreamClient(url);
  const raws: WebSocket[] = [];
  const workers: Worker[] = [];
  const rawLogin = async () => {
    const ws = await login(url);
    ws.on('error', () => {});
    raws.push(ws);
    return ws;
  };
  const record = async (check: string, body: () => Promise<string>) =>
    checks.push(await body().then((detail) => ({ check, ok: true, detail }), (error: unknown) => ({ check, ok: false, detail: error instanceof Error ? error.message : String(error) })));
  try {
    for (const c of [a, b]) c.on('error', () => {});
    await Promise.all([a.login({}), b.login({})]);
    const tag = Date.now().toString(36);

    await record('events raw publisher -> official subscriber', async () => {
      const name = `verify-a-${tag}`;
      const got: Array<{ s: string; t: string; p: string }> = [];
      let probes = 0;
      a.event.subscribe(name, (data) => {
        const d = data as { s: string; t: string; p: string };
        if (Number(d.s) === 0) probes++;
        else got.push(d);
      });
      const pub = await rawLogin();
      const template = new EmitTemplate(name, payloadBytes);
      // The official subscribe has no promise: emit #0 probes until one arrives.
      await until('the official subscription', () => {
        pub.send(template.stamp(0, monoUs()));
        return probes > 0;
      });
      for (let i = 1; i <= N; i++) pub.send(template.stamp(i, monoUs()));
      await until(`${N} events at the official client`, () => got.length >= N);
      const pad = payloadObject(payloadBytes, 0, 0).p;
      got.forEach((d, i) => {
        if (Number(d.s) !== i + 1 || d.p !== pad || !/^\d{15}$/.test(d.t)) throw new Error(`event ${i + 1} arrived as ${JSON.stringify(d).slice(0, 80)}`);
      });
      return `${got.length} events, in order, payload intact`;
    });

    await record('events official publisher -> raw subscriber', async () => {
      const name = `verify-b-${tag}`;
      const sub = await rawLogin();
      await subscribe(sub, name);
      const checker = new SeqChecker(eventFormat(name, payloadBytes));
      sub.on('message', (data: Buffer) => frameKind(data) === EVENT_EMIT_KIND && checker.onFrame(data));
      for (let i = 1; i <= N; i++) b.event.emit(name, payloadObject(payloadBytes, i, monoUs()));
      await until(`${N} frames at the raw subscriber`, () => checker.received + checker.bad >= N);
      if (checker.verified !== true || checker.gaps + checker.backwards + checker.bad > 0) throw new Error(checker.problem ?? 'sequence check failed');
      return `${checker.received} frames, first decoded in full, no gap, repeat or bad frame`;
    });

    await record('rpc raw requester -> official provider', async () => {
      const name = `verify-rpc-${tag}`;
      a.rpc.provide(name, (data, response) => response.send(data));
      await sleep(100); // PROVIDE leaves in the client's next batch
      const req = await rawLogin();
      const payload = jsonPayload(payloadBytes);
      let calls = 0;
      for (let i = 0; calls < 20; i++) {
        const correlationId = `v${i}`;
        const frames: number[] = [];
        const call = { topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name, correlationId, data: payload };
        const reply = await request(req, call, (m) => m.topic === TOPIC.RPC && m.correlationId === correlationId && frames.push(m.action) > 0 && m.action !== RPC_ACTION.ACCEPT, 'RPC reply');
        if (reply.action === RPC_ACTION.REQUEST_ERROR || reply.action === RPC_ACTION.NO_RPC_PROVIDER) {
          if (calls > 0 || i > 200) throw new Error(`RPC error action ${reply.action} after ${calls} calls`);
          await sleep(10); // the official PROVIDE is still on its way
          continue;
        }
        if (reply.action !== RPC_ACTION.RESPONSE || reply.data !== payload) throw new Error(`reply ${JSON.stringify(reply).slice(0, 120)}`);
        if (frames[0] !== RPC_ACTION.ACCEPT) throw new Error('no ACCEPT before the RESPONSE');
        calls++;
      }
      return `${calls} calls: ACCEPT then RESPONSE with the arguments byte for byte`;
    });

    await record('rpc official requester -> raw provider', async () => {
      const name = `verify-rpc-raw-${tag}`;
      const provider = forkWorker({ role: 'rpc-provider', url, accept: true, name }); // the benchmarks' own provider
      workers.push(provider);
      await nextMessage(provider, 'ready');
      const value = payloadObject(payloadBytes, 1, 0);
      for (let i = 0; i < 20; i++) {
        const result = (await b.rpc.make(name, { ...value, s: String(i) })) as typeof value;
        if (result.s !== String(i) || result.p !== value.p) throw new Error(`call ${i} returned ${JSON.stringify(result).slice(0, 80)}`);
      }
      return '20 calls answered with the arguments';
    });

    await record('records official writer -> raw subscriber', async () => {
      const name = `verify/record-a-${tag}`;
      const sub = await rawLogin();
      const payload = jsonPayload(payloadBytes);
      let checker = new SeqChecker(recordFormat(name, payload));
      const start = await subscribeRecord(sub, name, (v) => {
        checker = new SeqChecker(recordFormat(name, payload), v + 1);
        sub.on('message', (data: Buffer) => [RECORD_PATCH_KIND, RECORD_UPDATE_KIND].includes(frameKind(data)) && checker.onFrame(data));
      });
      const rec = b.record.getRecord(name);
      await rec.whenReady();
      const value = JSON.parse(payload) as { bench: boolean; pad: string };
      // The official client sends nothing for a set that changes nothing: vary every value after the first.
      for (let i = 0; i < 50; i++) rec.set('value', i === 0 ? value : { ...value, i });
      await until('50 record broadcasts at the raw subscriber', () => checker.received + checker.bad >= 50);
      if (checker.verified !== true || checker.gaps + checker.backwards + checker.bad > 0) throw new Error(checker.problem ?? 'version check failed');
      return `50 PATCHes, versions ${start + 1}..${checker.next - 1} in order, first decoded in full`;
    });

    await record('records raw writer -> official subscriber', async () => {
      const name = `verify/record-b-${tag}`;
      const rec = a.record.getRecord(name);
      await rec.whenReady();
      const writer = await rawLogin();
      let version = await subscribeRecord(writer, name);
      const payload = jsonPayload(payloadBytes);
      for (let i = 0; i < 50; i++) {
        writer.send(binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.PATCH, name, version: ++version, path: 'value', data: payload }));
      }
      await until('the official record at the last version', () => rec.version === version);
      if (JSON.stringify(rec.get('value')) !== payload) throw new Error(`official copy holds ${JSON.stringify(rec.get()).slice(0, 80)}`);
      return `official copy at v${version} with the data written`;
    });
  } finally {
    a.close();
    b.close();
    for (const ws of raws) ws.terminate();
    await stopWorkers(workers);
  }
  return { ok: checks.every((c) => c.ok), checks };
}
