import { withDeadline, type AuthorizationRequest, type StoredRecord } from '@deepstream-ts/core';
import { RuleError } from './expression/evaluate.ts';
import type { Subject } from './subject.ts';

/** What the valve needs from the records plugin (for `_()` and reads' `oldData`); its `records` service provides it. */
export interface RecordReader {
  snapshot(name: string): Promise<StoredRecord | undefined>;
}

/** A record could not be loaded for a rule (missing plugin, storage error, timeout). */
export class RecordUnavailable extends Error {}

/**
 * The data a rule reads for one check, loaded only when the rule asks for it and at most once:
 * `data`, `oldData` and the records of `_()`. What `data` is depends on the message (README,
 * "data and oldData"):
 *
 * - event publish, rpc request: the decoded payload (undefined when there is none);
 * - record write: the whole record as it will be after the write, and `oldData` the record the
 *   write is applied to. Both come from the request's `facts`, which the records plugin computes
 *   from its write queue, so a rule judges exactly what will be stored even with writes in flight.
 *   A patch asked without facts is a rule error: the valve does not apply writes itself.
 */
export class Facts {
  private stored: Promise<StoredRecord | undefined> | undefined;

  constructor(
    private readonly request: AuthorizationRequest,
    private readonly subject: Subject,
    private readonly reader: RecordReader | undefined,
    private readonly timeout: number,
  ) {}

  /** The checked record's data before the message, null when it does not exist. */
  async oldData(): Promise<unknown> {
    const { facts } = this.request;
    if (facts?.oldData !== undefined) return facts.oldData();
    return (await this.current())?.data ?? null;
  }

  async data(): Promise<unknown> {
    const { message, facts } = this.request;
    if (this.subject.section !== 'record') return parseJson(message.data, 'the payload');
    if (this.subject.type !== 'write') return undefined;
    if (facts?.data !== undefined) return facts.data();
    if (message.path === undefined) return parseJson(message.data, 'the record data');
    throw new RuleError('the data after this patch is unknown: the request carries no facts from the records plugin');
  }

  /** Another record's data for `_()`, null when it does not exist. */
  async record(name: string): Promise<unknown> {
    return (await this.load(name))?.data ?? null;
  }

  private current(): Promise<StoredRecord | undefined> {
    this.stored ??= this.load(this.request.name);
    return this.stored;
  }

  private async load(name: string): Promise<StoredRecord | undefined> {
    const reader = this.requireReader();
    try {
      return await withDeadline(`permission rule load of "${name}"`, this.timeout, () => reader.snapshot(name));
    } catch (error) {
      throw new RecordUnavailable(`record "${name.slice(0, 200)}" could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }

  private requireReader(): RecordReader {
    if (this.reader === undefined) throw new RecordUnavailable('the rule reads records, but no records plugin is configured');
    return this.reader;
  }
}

function parseJson(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RuleError(`${what} is not valid JSON`);
  }
}
