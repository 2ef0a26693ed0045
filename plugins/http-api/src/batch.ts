import { CONNECTION_ACTION, TOPIC, type AuthorizationVerdict, type Message, type PluginContext } from '@deepstream-ts/core';
import type { HttpSession } from './http-session.ts';
import type { Operation } from './operations.ts';
import { INTERNAL_ERROR, SUCCESS, emitDenied, errorResult, messageDropped, parseData, type JifResult } from './results.ts';

export type Outcome = 'SUCCESS' | 'FAILURE' | 'PARTIAL_SUCCESS';

const CHECK_FAILED: AuthorizationVerdict = Object.freeze({ allowed: false, error: true });

/**
 * Runs the operations of one batch through a logged-in HTTP session, all at once (the reference
 * gives no ordering between them), and collects one result per operation from the replies.
 */
export class Batch {
  private readonly results: Array<JifResult | undefined>;
  /** Unanswered operations by correlationId, in the order they were sent. */
  private readonly pending = new Map<string, { index: number; operation: Operation }>();
  /** The operation being handed to the session: synchronous replies without an id are its own. */
  private current: number | undefined;
  private remaining: number;
  private finish!: (results: JifResult[]) => void;
  readonly done: Promise<JifResult[]>;

  constructor(
    private readonly admit: PluginContext['admit'],
    private readonly http: HttpSession,
    private readonly operations: readonly Operation[],
  ) {
    this.results = operations.map(() => undefined);
    this.remaining = operations.length;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Sends every operation; `done` resolves once each has its result, or `end` is called. */
  start(): Promise<JifResult[]> {
    this.http.connection.onReply = (reply) => this.onReply(reply);
    this.operations.forEach((operation, index) => {
      if (operation.silentOnSuccess) void this.sendChecked(index, operation);
      else this.send(index, operation);
    });
    return this.done;
  }

  /** Gives every unanswered operation `result` (timeout, shutdown) and finishes. */
  end(result: JifResult): void {
    for (let index = 0; index < this.results.length; index++) this.settle(index, result);
  }

  private send(index: number, operation: Operation): void {
    this.pending.set(operation.message.correlationId as string, { index, operation });
    this.current = index;
    let delivery;
    try {
      delivery = this.http.deliver(operation.message);
    } finally {
      this.current = undefined;
    }
    // A reason sent while dropping (see onReply) has settled it already; these are the silent cases.
    if (delivery === 'dropped') this.settle(index, messageDropped());
    else if (delivery === 'failed') this.settle(index, INTERNAL_ERROR); // the kernel logged the plugin's failure
  }

  /**
   * Requests the protocol never acknowledges (event emit): the API asks the permission plugins
   * first, as the router would (the reference does the same), and answers once the message was
   * handled without an error. The router asks again when it routes the message; rules are pure,
   * so both answers agree unless the rules were reloaded in between.
   */
  private async sendChecked(index: number, operation: Operation): Promise<void> {
    const { message } = operation;
    let verdict: AuthorizationVerdict;
    try {
      verdict = await this.admit(this.http.session, message);
    } catch {
      verdict = CHECK_FAILED;
    }
    if (this.results[index] !== undefined) return; // ended meanwhile
    if (!verdict.allowed) return this.settle(index, emitDenied(verdict));
    try {
      this.send(index, operation);
      this.settle(index, SUCCESS);
    } catch {
      // The kernel reports handler failures itself; this only keeps the batch from waiting forever.
      this.settle(index, INTERNAL_ERROR);
    }
  }

  private onReply(reply: Message): void {
    // Unknown topics are refused while their message is being handed over, with nothing to match.
    if (reply.topic === TOPIC.PARSER) {
      if (this.current !== undefined) this.settle(this.current, errorResult(reply));
      return;
    }
    // An inbound filter refusing the message being handed over says why (a rate limit's reason).
    if (reply.topic === TOPIC.CONNECTION && reply.action === CONNECTION_ACTION.ERROR) {
      if (this.current !== undefined) this.settle(this.current, messageDropped(parseData(reply.data)));
      return;
    }
    const entry = this.match(reply);
    if (entry === undefined) return;
    const result = entry.operation.settle(reply);
    if (result !== undefined) this.settle(entry.index, result);
  }

  private match(reply: Message): { index: number; operation: Operation } | undefined {
    if (reply.correlationId !== undefined) return this.pending.get(reply.correlationId);
    for (const entry of this.pending.values()) {
      const { message, uncorrelated } = entry.operation;
      if (message.topic === reply.topic && message.name === reply.name && uncorrelated.has(reply.action)) return entry;
    }
    return undefined;
  }

  private settle(index: number, result: JifResult): void {
    if (this.results[index] !== undefined) return;
    this.results[index] = result;
    this.pending.delete(this.operations[index]!.message.correlationId as string);
    if (--this.remaining === 0) this.finish(this.results as JifResult[]);
  }
}

export function outcomeOf(results: readonly JifResult[]): Outcome {
  const succeeded = results.filter((result) => result.success).length;
  if (succeeded === results.length) return 'SUCCESS';
  return succeeded === 0 ? 'FAILURE' : 'PARTIAL_SUCCESS';
}
