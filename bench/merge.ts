/**
 * Merge benchmark: N writers on one record, each patching its own path (`w<i>`) at the latest
 * version it knows + 1 with an acknowledgement, `window` writes in flight, a refused write followed
 * by the next; under `reject`, then `paths`. Prints acked writes/s and VERSION_EXISTS/s for both.
 *   npx tsx --conditions=source bench/merge.ts [--writers 100] [--duration 3] [--window 1]
 */
import { RECORD_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { cli } from './lib/args.ts';
import { deepstreamArgs, log, runBenchmark, sleep, startServer } from './lib/proc.ts';
import { connectInBatches, login, subscribeRecord } from './lib/raw-client.ts';
import { table } from './lib/report.ts';

const opt = cli({ writers: '', duration: '', window: '' });
const WRITERS = opt.int('writers', 100, 1);
const DURATION_S = opt.num('duration', 3, 0.1);
const WINDOW = opt.int('window', 1, 1);

async function measure(url: string, name: string): Promise<{ acks: number; conflicts: number; errors: number; seconds: number }> {
  const counts = { acks: 0, conflicts: 0, errors: 0 };
  let running = false;
  const writers: Array<{ start(): void; close(): void }> = [];
  await connectInBatches(WRITERS, async (index) => {
    const ws = await login(url);
    let known = await subscribeRecord(ws, name);
    let n = 0;
    const send = () => {
      if (!running) return;
      n++;
      ws.send(binaryCodec.encode({ topic: TOPIC.RECORD, action: RECORD_ACTION.PATCH, name, version: known + 1, path: `w${index}`, data: String(n - 1), isWriteAck: true, correlationId: String(n) }));
    };
    ws.on('message', (frame: Buffer) => {
      const m = binaryCodec.decode(frame);
      if (m === undefined || m.topic !== TOPIC.RECORD) return;
      if (m.version !== undefined && m.version > known) known = m.version;
      if (m.action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT) counts.acks++;
      else if (m.action === RECORD_ACTION.VERSION_EXISTS) counts.conflicts++;
      else if (m.isError === true || m.action === RECORD_ACTION.INVALID_VERSION) counts.errors++;
      else return;
      send();
    });
    writers.push({ start: () => Array.from({ length: WINDOW }, send), close: () => ws.terminate() });
  });
  running = true;
  const started = performance.now();
  for (const w of writers) w.start();
  await sleep(DURATION_S * 1000);
  const result = { ...counts, seconds: (performance.now() - started) / 1000 };
  running = false;
  for (const w of writers) w.close();
  await sleep(300); // let the server drop the connections before the next run
  return result;
}

await runBenchmark('bench/merge', 60_000 + DURATION_S * 4000, async () => {
  const server = await startServer({ name: 'server', args: (port) => deepstreamArgs(port, ['--config', 'bench/merge.config.ts']), ignore: (line) => line.includes('no storage connector configured') });
  log(`${WRITERS} writers, ${WINDOW} write(s) in flight each, ${DURATION_S} s per strategy`);
  const rows: string[][] = [];
  for (const strategy of ['reject', 'paths'] as const) {
    const r = await measure(server.url, `${strategy}/${Date.now()}`);
    rows.push([strategy, (r.acks / r.seconds).toFixed(0), (r.conflicts / r.seconds).toFixed(0), String(r.errors)]);
  }
  console.log(table(['strategy', 'acked/s', 'VERSION_EXISTS/s', 'errors'], rows));
  if (server.warnings.length > 0) log(`server warnings: ${server.warnings.slice(0, 3).join(' | ')}`);
  await server.stop();
});
