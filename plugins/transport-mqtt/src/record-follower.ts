import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';

/** What the follower needs from its connection. */
export interface RecordFollowerHost {
  /** Hands a record message to the session. */
  deliver(message: Message): void;
  /** Publishes a record value (`data` undefined: the record is gone) to the client. */
  publish(name: string, data: string | undefined, retain: boolean): void;
  warn(what: string, details: Record<string, unknown>): void;
}

/**
 * The records of one client's exact filters: subscribed to like a deepstream client would, the
 * current value sent as the retained message, whole values after patches (read back, one read at
 * a time per name), an empty message on deletion. Full values (UPDATE) are encoded by the codec
 * and never come here.
 */
export class RecordFollower {
  /** Names whose next value is the retained message of a new subscription. */
  private readonly retainedDue = new Set<string>();
  /** Names being read back after a patch, and whether they changed again meanwhile. */
  private readonly rereading = new Map<string, boolean>();

  constructor(private readonly host: RecordFollowerHost) {}

  /** MQTT 5 Retain Handling: 0 send the retained value, 1 only for a new subscription, 2 never. */
  follow(name: string, retainHandling: number, isNew: boolean): void {
    if (retainHandling === 0 || (retainHandling === 1 && isNew)) this.retainedDue.add(name);
    this.host.deliver({ topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBEANDREAD, names: [name] });
  }

  unfollow(name: string): void {
    this.retainedDue.delete(name);
    this.rereading.delete(name);
    this.host.deliver({ topic: TOPIC.RECORD, action: RECORD_ACTION.UNSUBSCRIBE, names: [name] });
  }

  /** A record reply for a followed name. */
  reply(name: string, message: Message): void {
    // A read back that failed (the record is gone, storage trouble): the next patch reads again.
    if (message.isError === true && message.originalAction === RECORD_ACTION.READ) this.rereading.delete(name);
    switch (message.action) {
      case RECORD_ACTION.READ_RESPONSE: {
        const retained = this.retainedDue.delete(name);
        const again = this.rereading.get(name);
        this.rereading.delete(name);
        if (again === true) this.reread(name);
        if (message.version === undefined || message.version < 0 || message.data === undefined) return; // no such record: nothing retained
        if (retained || again !== undefined) this.host.publish(name, message.data, retained);
        return;
      }
      case RECORD_ACTION.PATCH:
      case RECORD_ACTION.ERASE:
        return this.reread(name);
      case RECORD_ACTION.DELETED:
        return this.host.publish(name, undefined, false);
      case RECORD_ACTION.MESSAGE_DENIED:
      case RECORD_ACTION.MESSAGE_PERMISSION_ERROR:
        this.retainedDue.delete(name);
        this.host.warn('MQTT subscriber may not read the record of its topic: it gets events only', { name: name.slice(0, 100) });
    }
  }

  private reread(name: string): void {
    if (this.rereading.has(name)) return void this.rereading.set(name, true);
    this.rereading.set(name, false);
    this.host.deliver({ topic: TOPIC.RECORD, action: RECORD_ACTION.READ, name });
  }
}
