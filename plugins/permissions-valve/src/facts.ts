import { RECORD_ACTION, withDeadline, type AuthorizationRequest, type StoredRecord } from '@deepstream-ts/core';
import { parsePath, setPath, type PathLimits } from '@deepstream-ts/plugin-records';
import { RuleError } from './expression/evaluate.ts';
import type { Subject } from './subject.ts';

/** What the valve needs from the records plugin; its `records` service provides it. */
export interface RecordReader {
  snapshot(name: string): Promise<StoredRecord | undefined>;
  readonly pathLimits: PathLimits;
}

/** A record could not be loaded for a rule (missing plugin, storage error, timeout). */
export class RecordUnavailable extends Error {}

const CREATING = new Set<number>([RECORD_ACTION.CREATEANDUPDATE, RECORD_ACTION.CREATEANDPATCH]);

/**
 * The data a rule reads for one check, loaded only when the rule asks for it and at most once:
 * `data`, `oldData` and the records of `_()`. What `data` is depends on the message (README,
 * "data and oldData"):
 *
 * - event publish, rpc request: the decoded payload (undefined when there is none);
 * - record write: the whole record as it would be after the write; for a patch or an erase that is
 *   the stored record with the change applied (a missing record counts as `{}` for setData's
 *   CREATEANDPATCH and is a rule error for a plain PATCH).
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
    return (await this.current())?.data ?? null;
  }

  async data(): Promise<unknown> {
    const { message } = this.request;
    if (this.subject.section !== 'record') return parseJson(message.data, 'the payload');
    if (this.subject.type !== 'write') return undefined;
    if (message.path === undefined) return parseJson(message.data, 'the record data');
    const reader = this.requireReader();
    const tokens = parsePath(message.path, reader.pathLimits);
    if (typeof tokens === 'string') throw new RuleError(`the write path is invalid: ${tokens}`);
    const value = message.action === RECORD_ACTION.ERASE ? undefined : parseJson(message.data, 'the patch value');
    const before = (await this.current())?.data;
    if (before === undefined && !CREATING.has(message.action)) throw new RuleError('the record does not exist, so the patch cannot be applied');
    return setPath(before ?? {}, tokens, value);
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
