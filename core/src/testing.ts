/**
 * Test helpers for plugin authors and our own suites: a kernel on an ephemeral port with captured
 * logs, and a raw protocol client for byte-level tests. Import from `@deepstream-ts/core/testing`.
 */
import { Writable } from 'node:stream';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { Kernel, type KernelOptions } from './kernel.ts';
import type { DeepstreamConfig } from './config/options.ts';
import { binaryCodec } from './protocol/codec.ts';
import { AUTH_ACTION, CONNECTION_ACTION, TOPIC, type Message } from './protocol/messages.ts';

/**
 * Polls `check` every 10 ms until it holds; rejects with "timed out waiting until <what>" after
 * `timeout` ms. Resolves with the milliseconds it waited, for tests that report a bound.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 5000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeout) throw new Error(`timed out after ${timeout} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

export interface LogLine {
  level: number;
  msg: string;
  plugin?: string;
  [key: string]: unknown;
}

export interface TestServer {
  kernel: Kernel;
  /** ws://127.0.0.1:PORT/deepstream (or the configured path) */
  url: string;
  port: number;
  /** Every log line so far, parsed. */
  logs: LogLine[];
  /** Log lines at warn level and above. */
  warnings(): LogLine[];
  stop(): Promise<void>;
  /** Every node, when a topology (`DS_TEST_TOPOLOGY`) started several; `kernel` is the first. */
  nodes?: readonly TestServer[];
}

/** What a `DS_TEST_TOPOLOGY` module exports: how to start a "server" from one suite's config. */
export interface TestTopology {
  startServer(config: DeepstreamConfig, options: KernelOptions): Promise<TestServer>;
}

let topology: Promise<TestTopology> | undefined;

/**
 * Starts a kernel on 127.0.0.1 with a free port; logs are captured (level `debug`), not printed.
 * With `DS_TEST_TOPOLOGY` set to a module's path (relative to the working directory) or URL, that
 * module's `startServer` starts it instead, e.g. as a cluster behind a balancer: a plugin's own
 * suite runs unchanged against another topology.
 */
export function startTestServer(config: DeepstreamConfig, options: KernelOptions = {}): Promise<TestServer> {
  const module = process.env.DS_TEST_TOPOLOGY;
  if (module === undefined || module === '') return startTestNode(config, options);
  topology ??= import(/^[a-z][a-z0-9+.-]+:/.test(module) ? module : pathToFileURL(isAbsolute(module) ? module : resolve(module)).href) as Promise<TestTopology>;
  return topology.then((t) => t.startServer(config, options));
}

/** One kernel, whatever the topology: what `startTestServer` starts by default, and a topology's building block. */
export async function startTestNode(config: DeepstreamConfig, options: KernelOptions = {}): Promise<TestServer> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = options.logger ?? pino({ level: 'debug', base: undefined }, sink);
  const kernel = await new Kernel({ host: '127.0.0.1', port: 0, ...config }, { ...options, logger }).start();
  const port = kernel.address.port;
  return {
    kernel,
    port,
    url: `ws://127.0.0.1:${port}${kernel.config.connection.path}`,
    logs,
    warnings: () => logs.filter((line) => line.level >= 40),
    stop: () => kernel.stop(),
  };
}

/**
 * A client that speaks the v7 protocol frame by frame, for tests of exact replies and bad input.
 * Messages are queued as they arrive; `next()` takes them in order.
 */
export class RawClient {
  readonly received: Message[] = [];
  private waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  readonly closed: Promise<{ code: number }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const message = binaryCodec.decode(data);
      if (message === undefined) throw new Error('server sent an undecodable frame');
      const waiter = this.waiters.findIndex((w) => w.match(message));
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]!.resolve(message);
      else this.received.push(message);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code })));
  }

  /** Opens the socket; `headers` go on the upgrade request, for tests of what the server sees there. */
  static async connect(url: string, headers?: Record<string, string>): Promise<RawClient> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawClient(ws);
  }

  /** Connects (with `headers`, as `connect`), sends the challenge and logs in with `authData`; resolves after AUTH_SUCCESSFUL. */
  static async login(url: string, authData: object = {}, headers?: Record<string, string>): Promise<RawClient> {
    const client = await RawClient.connect(url, headers);
    client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url, protocolVersion: '0.1a', sdkVersion: 'raw', sdkType: 'test' });
    await client.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
    client.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
    const reply = await client.next((m) => m.topic === TOPIC.AUTH);
    if (reply.action !== AUTH_ACTION.AUTH_SUCCESSFUL) throw new Error(`login refused: action ${reply.action}`);
    return client;
  }

  send(message: Message): void {
    this.ws.send(binaryCodec.encode(message));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** The next message (matching `match`, if given), in arrival order; rejects after `timeout` ms. */
  next(match: (m: Message) => boolean = () => true, timeout = 2000): Promise<Message> {
    const queued = this.received.findIndex(match);
    if (queued >= 0) return Promise.resolve(this.received.splice(queued, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching message within ${timeout} ms; received: ${JSON.stringify(this.received)}`));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if nothing (matching) arrives within `ms`. */
  async nothingWithin(ms: number, match: (m: Message) => boolean = () => true): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.ws.close();
  }
}
