import { withDeadline, type AuthorizationRequest, type RecordReader, type StoredRecord } from '@deepstream-ts/core';

/** A record could not be loaded for a rule's `_()` (no records plugin, storage error, timeout). */
export class RecordUnavailable extends Error {}

/**
 * The data a rule reads for one check, each loaded only when the rule asks for it: `data` and
 * `oldData` are the facts the feature that owns the resource offers with the request (an event's
 * payload; a record write's data before and after, from its write queue, so a rule judges exactly
 * what will be stored), `_()` reads other records through the `recordReader` service.
 */
export class Facts {
  constructor(
    private readonly request: AuthorizationRequest,
    private readonly reader: RecordReader | undefined,
    private readonly timeout: number,
  ) {}

  /** The resource's data before the request, null when it does not exist or the feature does not say. */
  async oldData(): Promise<unknown> {
    const facts = this.request.facts;
    return (facts?.oldData === undefined ? null : await this.inTime('its data before the request', () => facts.oldData!())) ?? null;
  }

  /** The request's data; undefined when the feature offers none. */
  async data(): Promise<unknown> {
    const facts = this.request.facts;
    return facts?.data === undefined ? undefined : this.inTime('its data', () => facts.data!());
  }

  /** A fact the feature computes (a record write waits for the writes queued before it), within `recordLoadTimeout`. */
  private async inTime(what: string, fact: () => unknown): Promise<unknown> {
    const value = fact();
    if (!(value instanceof Promise)) return value;
    try {
      return await withDeadline(`permission rule read of ${what}`, this.timeout, () => value);
    } catch (error) {
      throw new RecordUnavailable(`"${this.request.name.slice(0, 200)}": ${what} could not be read: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Another record's data for `_()`, null when it does not exist. */
  async record(name: string): Promise<unknown> {
    return (await this.load(name))?.data ?? null;
  }

  private async load(name: string): Promise<StoredRecord | undefined> {
    const reader = this.reader;
    if (reader === undefined) throw new RecordUnavailable('the rule reads records with _(), but no plugin provides the recordReader service (the records plugin does)');
    try {
      return await withDeadline(`permission rule load of "${name}"`, this.timeout, () => reader.snapshot(name));
    } catch (error) {
      throw new RecordUnavailable(`record "${name.slice(0, 200)}" could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }
}
