import { RECORD_ACTION, type AuthorizationFacts, type Message, type Permission, type PermissionRule, type Session, type StoredRecord, type TopicAccess } from '@deepstream-ts/core';
import type { RecordsOptions } from './options.ts';
import { WriteTicket } from './write-queue.ts';

/** A hot-path write (RECORDS §7): no queue, so its data is simply what the client sent. */
export interface HotPathWrite extends AuthorizationFacts {
  readonly kind: 'hot';
}

/** What the records plugin tells the permission plugins about one record of one message. */
export type RecordFacts = WriteTicket | HotPathWrite | StoredState;

/** The record as stored now: for reads, deletes and "create if missing"; loaded once, when first asked. */
export class StoredState implements AuthorizationFacts {
  readonly kind = 'stored';
  private loaded: Promise<StoredRecord | undefined> | undefined;
  /** `exists()` found no record (so `create` was asked). */
  missing = false;

  constructor(private readonly load: () => Promise<StoredRecord | undefined>) {}

  oldData(): Promise<unknown> {
    return this.record().then((record) => record?.data ?? null);
  }

  /** Whether the record exists; a record that cannot be loaded counts as missing, so `create` is asked too. */
  exists(): Promise<boolean> {
    return this.record().then(
      (record) => this.found(record !== undefined),
      () => this.found(false),
    );
  }

  private found(exists: boolean): boolean {
    this.missing = !exists;
    return exists;
  }

  private record(): Promise<StoredRecord | undefined> {
    this.loaded ??= this.load();
    return this.loaded;
  }
}

/** A name the records plugin serves: not empty, at most `maxNameLength` characters. */
export function isRecordName(name: string, maxNameLength: number): boolean {
  return name !== '' && name.length <= maxNameLength;
}

/** One permission with the action rules see for it. */
export type Stage = Exclude<Permission, string>;

// The stages of compound requests are shown to rules as the action of the stage (SECURITY §3.5).
const CREATE: Stage = { permission: 'create', action: RECORD_ACTION.CREATE };
const READ_STAGE: Stage = { permission: 'read', action: RECORD_ACTION.READ };
const WRITE_STAGE: Stage = { permission: 'write', action: RECORD_ACTION.UPDATE };
const WRITE: Stage = { permission: 'write' };
const DELETE: Stage = { permission: 'delete' };
const CREATE_THEN_READ: readonly Stage[] = [CREATE, READ_STAGE];
export const CREATE_ONLY: readonly Stage[] = [CREATE];

/**
 * The permissions a write needs: ERASE is a `delete` (upstream v10); a write that creates the
 * record, or setData with no write queued when it arrived, needs `create` first (SECURITY §3.4).
 */
export function writePermissions(action: number, creates: boolean): readonly Stage[] {
  const rule = action === RECORD_ACTION.ERASE ? DELETE : action === RECORD_ACTION.CREATEANDUPDATE || action === RECORD_ACTION.CREATEANDPATCH ? WRITE_STAGE : WRITE;
  return creates ? [CREATE, rule] : [rule];
}

export interface RecordAccessSource {
  /** The write's facts, its queue place taken; undefined when the handler will refuse it. */
  prepareWrite(session: Session, message: Message): RecordFacts | undefined;
  load(name: string): Promise<StoredRecord | undefined>;
}

/**
 * The RECORD topic's permissions, declared when records claims the topic: the router asks them
 * before the handler. Names the handler will refuse (empty, over `maxNameLength`) are not asked.
 */
export function recordAccess(options: Pick<RecordsOptions, 'maxNameLength'>, source: RecordAccessSource): TopicAccess<RecordFacts> {
  const valid = (name: string) => isRecordName(name, options.maxNameLength);
  const when = (permission: string): PermissionRule<RecordFacts> => (_message, name) => (valid(name) ? permission : undefined);

  const write: PermissionRule<RecordFacts> = async (message, _name, facts) => {
    if (facts === undefined) return undefined; // refused before any check: the handler says why
    if (facts.kind === 'hot') return [CREATE, WRITE_STAGE];
    if (!(facts instanceof WriteTicket)) return undefined;
    return writePermissions(message.action, facts.write.checkCreate || (await facts.creates()));
  };
  const createThenRead: PermissionRule<RecordFacts> = async (_message, name, facts) => {
    if (!valid(name)) return undefined;
    return facts instanceof StoredState && (await facts.exists()) ? READ_STAGE : CREATE_THEN_READ;
  };

  return {
    resource: 'record',
    bulk: [RECORD_ACTION.SUBSCRIBECREATEANDREAD, RECORD_ACTION.SUBSCRIBEANDREAD, RECORD_ACTION.SUBSCRIBEANDHEAD, RECORD_ACTION.SUBSCRIBE, RECORD_ACTION.NOTIFY],
    permissions: {
      [RECORD_ACTION.SUBSCRIBECREATEANDREAD]: createThenRead,
      [RECORD_ACTION.SUBSCRIBEANDREAD]: when('read'),
      [RECORD_ACTION.SUBSCRIBEANDHEAD]: when('read'),
      [RECORD_ACTION.SUBSCRIBE]: when('read'),
      [RECORD_ACTION.READ]: when('read'),
      [RECORD_ACTION.HEAD]: when('read'),
      [RECORD_ACTION.UPDATE]: write,
      [RECORD_ACTION.PATCH]: write,
      [RECORD_ACTION.ERASE]: write,
      [RECORD_ACTION.CREATEANDUPDATE]: write,
      [RECORD_ACTION.CREATEANDPATCH]: write,
      [RECORD_ACTION.DELETE]: when('delete'),
      [RECORD_ACTION.NOTIFY]: when('notify'),
      [RECORD_ACTION.LISTEN]: 'listen',
    },
    facts(session, message, name) {
      switch (message.action) {
        case RECORD_ACTION.UPDATE:
        case RECORD_ACTION.PATCH:
        case RECORD_ACTION.ERASE:
        case RECORD_ACTION.CREATEANDUPDATE:
        case RECORD_ACTION.CREATEANDPATCH:
          return source.prepareWrite(session, message);
        case RECORD_ACTION.LISTEN:
        case RECORD_ACTION.NOTIFY:
          return undefined;
        default:
          return valid(name) ? new StoredState(() => source.load(name)) : undefined;
      }
    },
    release(facts) {
      if (facts instanceof WriteTicket) facts.release();
    },
  };
}
