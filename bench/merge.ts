/**
 * Merge benchmark: 100 writers on one record, each patching its own path as fast as replies
 * allow, under `reject` and then `paths`, against a server started as a child process. Prints
 * acknowledged writes/s and VERSION_EXISTS/s for both from one run.
 *
 *   npx tsx bench/merge.ts [--writers 100] [--duration 3] [--window 1]
 *
 * Each writer is a raw protocol client subscribed to the record. It keeps `window` writes in
 * flight; each is a PATCH of `w<i>` at the latest version it knows + 1 (from broadcasts, a
 * VERSION_EXISTS, or its own merged copy), with an acknowledgement. A refused write is simply
 * followed by the next one, as a client that merges and writes again would. Writers share this
 * process, the server has its own: compare the two strategies within one run, not across machines.
 */
import type { WebSocket } from 'ws';
import { RECORD_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import { cli } from './lib/args.ts';
import { deepstreamArgs, log, runBenchmark, sleep, startServer } from './lib/proc.ts';
import { login, request } from './lib/raw-client.ts';
import { table } from './lib/report.ts';

const opt = cli({ writers: '', duration: '', window: '' });
const WRITERS = opt.int('writers', 100, 1);
const DURATION_S = opt.num('duration', 3, 0.1);
const WINDOW = opt.int('window', 1, 1);

interface Counts {
  acks: number;
  conflicts: number;
  errors: number;
}

class Writer {
  private known = 0;
  private n = 0;
  running = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly index: number,
    private readonly name: string,
    private readonly counts: Counts,
  ) {
    ws.on('message', (frame: Buffer) => this.receive(binaryCodec.decode(frame)));
  }

  static async open(url: string, index: number, name: string, counts: Counts): Promise<Writer> {
    const ws = await login(url);
    const read = await request(
      ws,
      { topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' },
      (m) => m.topic === TOPIC.RECORD && m.action === RECORD_ACTION.READ_RESPONSE,
      'READ_RESPONSE',
    );
    const writer = new Writer(ws, index, name, counts);
    writer.known = read.version ?? 0;
    return writer;
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < WINDOW; i++) this.send();
  }

  private send(): void {
    if (!this.running) return;
    const message: Message = {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.PATCH,
      name: this.name,
      version: this.known + 1,
      path: `w${this.index}`,
      data: String(this.n++),
      isWriteAck: true,
      correlationId: String(this.n),
    };
    this.ws.send(binaryCodec.encode(message));
  }

  private receive(m: Message | undefined): void {
    if (m === undefined || m.topic !== TOPIC.RECORD) return;
    if (m.version !== undefined && m.version > this.known) this.known = m.version;
    if (m.action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT) this.counts.acks++;
    else if (m.action === RECORD_ACTION.VERSION_EXISTS) this.counts.conflicts++;
    else if (m.isError === true || m.action === RECORD_ACTION.INVALID_VERSION) this.counts.errors++;
    else return;
    this.send();
  }

  close(): void {
    this.running = false;
    this.ws.terminate();
  }
}

async function measure(url: string, name: string): Promise<Counts & { seconds: number }> {
  const counts: Counts = { acks: 0, conflicts: 0, errors: 0 };
  const writers: Writer[] = [];
  for (let i = 0; i < WRITERS; i += 20) writers.push(...(await Promise.all(Array.from({ length: Math.min(20, WRITERS - i) }, (_, j) => Writer.open(url, i + j, name, counts)))));
  const started = performance.now();
  for (const w of writers) w.start();
  await sleep(DURATION_S * 1000);
  const seconds = (performance.now() - started) / 1000;
  const result = { ...counts, seconds };
  for (const w of writers) w.close();
  await sleep(300); // let the server drop the connections before the next run
  return result;
}

await runBenchmark('bench/merge', 60_000 + DURATION_S * 4000, async () => {
  const server = await startServer({
    name: 'server',
    args: (port) => deepstreamArgs(port, ['--config', 'bench/merge.config.ts']),
    ignore: (line) => line.includes('no storage connector configured'),
  });
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
