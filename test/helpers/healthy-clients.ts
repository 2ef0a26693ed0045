/**
 * Two well-behaved official clients that measure what a legitimate user notices while a server is
 * under attack: an event from one reaching the other, and a record write being acknowledged.
 */
import { DeepstreamClient } from '@deepstream/client';

const CHANNEL = 'health/ping';
const RECORD = 'health/record';

export interface HealthResult {
  /** ms from the emit to its delivery. */
  eventMs: number;
  /** ms from setDataWithAck to its acknowledgement. */
  writeMs: number;
}

export const officialClient = (url: string) =>
  new DeepstreamClient(url, { nativeTimerRegistry: true, subscriptionInterval: 10, maxReconnectAttempts: 0, offlineEnabled: false } as never);

/** Rejects with `what` when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class HealthyClients {
  private round = 0;
  private delivered: ((n: number) => void) | undefined;

  private constructor(
    private readonly sender: DeepstreamClient,
    private readonly receiver: DeepstreamClient,
  ) {
    receiver.event.subscribe(CHANNEL, (n) => this.delivered?.(n as number));
  }

  static async connect(url: string, loginTimeout = 5000): Promise<HealthyClients> {
    const [sender, receiver] = [officialClient(url), officialClient(url)];
    for (const c of [sender, receiver]) c.on('error', () => undefined); // a failing check says what went wrong
    const clients = new HealthyClients(sender, receiver);
    try {
      await within(Promise.all([sender.login({ username: 'healthy-sender' }), receiver.login({ username: 'healthy-receiver' })]), loginTimeout, 'the healthy clients\' login');
      // The subscription leaves in the client's next batch; retry the first round trip until it is in.
      const deadline = Date.now() + loginTimeout;
      for (;;) {
        try {
          await clients.check(200);
          return clients;
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
      }
    } catch (error) {
      clients.close();
      throw error;
    }
  }

  /** One event round trip and one acknowledged record write, each within `bound` ms. */
  async check(bound: number): Promise<HealthResult> {
    const n = ++this.round;
    const start = performance.now();
    const delivered = new Promise<void>((resolve) => {
      this.delivered = (got) => got === n && resolve();
    });
    this.sender.event.emit(CHANNEL, n);
    await within(delivered, bound, `a healthy client's event round trip (#${n})`);
    const eventMs = performance.now() - start;
    const writeStart = performance.now();
    // The client rejects with the error's name (a string), not an Error.
    const write = (this.sender.record.setDataWithAck(RECORD, { n }) as Promise<unknown>).catch((reason: unknown) => {
      throw new Error(`a healthy client's record write failed: ${String(reason)}`);
    });
    await within(write, bound, `a healthy client's acknowledged record write (#${n})`);
    return { eventMs, writeMs: performance.now() - writeStart };
  }

  close(): void {
    this.sender.close();
    this.receiver.close();
  }
}
