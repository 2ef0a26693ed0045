import { Counter, type Registry } from 'prom-client';
import { TOPIC, type KernelHooks } from '@deepstream-ts/core';
import { MessageKinds } from './labels.ts';

/** Denial replies, per topic, counted as permission denials (`reason` tells a rule error from a refusal). */
const DENIALS = [
  { action: 'MESSAGE_DENIED', reason: 'denied' },
  { action: 'MESSAGE_PERMISSION_ERROR', reason: 'error' },
] as const;
const DENYING_TOPICS = [TOPIC.EVENT, TOPIC.RECORD, TOPIC.RPC, TOPIC.PRESENCE];

/**
 * Messages in and out by topic and action, from the kernel's `inbound` and `outbound` hooks. The
 * hooks only count into plain arrays (one increment per message); prom-client reads them at scrape
 * time. Logins and permission denials are derived from the replies the server sent, since no hook
 * reports them: AUTH_SUCCESSFUL / AUTH_UNSUCCESSFUL, and MESSAGE_DENIED / MESSAGE_PERMISSION_ERROR.
 */
export function countMessages(hooks: KernelHooks, tapName: string, registry: Registry, prefix: string): void {
  const kinds = new MessageKinds();
  const received = new Array<number>(kinds.kinds.length).fill(0);
  const sent = new Array<number>(kinds.kinds.length).fill(0);
  hooks.inbound.tap(tapName, (_session, message) => void received[kinds.slotOf(message.topic, message.action)]!++);
  hooks.outbound.tap(tapName, (_session, message) => void sent[kinds.slotOf(message.topic, message.action)]!++);

  const byKind = (name: string, help: string, counts: number[]) =>
    new Counter({
      name,
      help,
      labelNames: ['topic', 'action'],
      registers: [registry],
      collect() {
        this.reset();
        counts.forEach((count, slot) => {
          if (count > 0) this.inc(kinds.kinds[slot]!, count);
        });
      },
    });
  byKind(`${prefix}messages_received_total`, 'Messages received from logged-in sessions, by topic and action', received);
  byKind(`${prefix}messages_sent_total`, 'Messages sent to sessions (fan-out counts once per recipient), by topic and action', sent);

  const loginSlots = { success: kinds.find(TOPIC.AUTH, 'AUTH_SUCCESSFUL'), failure: kinds.find(TOPIC.AUTH, 'AUTH_UNSUCCESSFUL') };
  new Counter({
    name: `${prefix}logins_total`,
    help: 'Login attempts answered, by result (failure = AUTH_UNSUCCESSFUL sent)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, slot] of Object.entries(loginSlots)) this.inc({ result }, slot === undefined ? 0 : sent[slot]!);
    },
  });

  const denialSlots = DENYING_TOPICS.flatMap((topic) =>
    DENIALS.map(({ action, reason }) => ({ labels: { topic: TOPIC[topic]!, reason }, slot: kinds.find(topic, action) })),
  );
  new Counter({
    name: `${prefix}permission_denials_total`,
    help: 'Requests refused by permission plugins, by topic and reason (denied, or error evaluating the rule)',
    labelNames: ['topic', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, slot } of denialSlots) this.inc(labels, slot === undefined ? 0 : sent[slot]!);
    },
  });
}
