import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, PARSER_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, MONITORING_ACTION } from '@deepstream-ts/core';

/** Action names per client-facing topic: the only label values messages can produce. */
const ACTIONS: Partial<Record<TOPIC, Readonly<Record<number, string>>>> = {
  [TOPIC.PARSER]: PARSER_ACTION,
  [TOPIC.CONNECTION]: CONNECTION_ACTION,
  [TOPIC.AUTH]: AUTH_ACTION,
  [TOPIC.EVENT]: EVENT_ACTION,
  [TOPIC.RECORD]: RECORD_ACTION,
  [TOPIC.RPC]: RPC_ACTION,
  [TOPIC.PRESENCE]: PRESENCE_ACTION,
  [TOPIC.MONITORING]: MONITORING_ACTION,
};

export interface MessageKind {
  readonly topic: string;
  readonly action: string;
}

/** Everything a client could send that has no name: one label pair, so clients cannot grow the label set. */
export const UNKNOWN_KIND: MessageKind = Object.freeze({ topic: 'UNKNOWN', action: 'UNKNOWN' });

/**
 * Every known (topic, action) pair with a slot number, built once; `slotOf` is two array reads, cheap
 * enough for every message. Slot 0 is `UNKNOWN_KIND`.
 */
export class MessageKinds {
  readonly kinds: MessageKind[] = [UNKNOWN_KIND];
  private readonly slots: Array<Array<number | undefined> | undefined> = [];

  constructor() {
    for (const [topic, actions] of Object.entries(ACTIONS) as Array<[string, Record<string, string | number>]>) {
      const byAction: Array<number | undefined> = [];
      for (const [action, name] of Object.entries(actions)) {
        if (typeof name !== 'string') continue; // the enum's reverse entries: number → name
        byAction[Number(action)] = this.kinds.push({ topic: TOPIC[Number(topic)]!, action: name }) - 1;
      }
      this.slots[Number(topic)] = byAction;
    }
  }

  slotOf(topic: number, action: number): number {
    return this.slots[topic]?.[action] ?? 0;
  }

  /** The slot of a named pair, for metrics derived from message counts (logins, denials). */
  find(topic: TOPIC, action: string): number | undefined {
    const index = this.kinds.findIndex((kind) => kind.topic === TOPIC[topic] && kind.action === action);
    return index > 0 ? index : undefined;
  }
}
