import { EVENT_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { PREFIX } from './names.ts';

/** Topics counted for the rates; anything else (a number the protocol does not name) is "other". */
const TOPICS = [TOPIC.CONNECTION, TOPIC.AUTH, TOPIC.EVENT, TOPIC.RECORD, TOPIC.RPC, TOPIC.PRESENCE, TOPIC.MONITORING] as const;
const SLOT_OF = new Map<number, number>(TOPICS.map((topic, slot) => [topic, slot]));
const OTHER = TOPICS.length;
const LABELS = [...TOPICS.map((topic) => TOPIC[topic]!.toLowerCase()), 'other'];

/** Record actions that change data: what makes a record "busy". */
const RECORD_WRITES = new Set<number>([RECORD_ACTION.UPDATE, RECORD_ACTION.PATCH, RECORD_ACTION.ERASE, RECORD_ACTION.CREATEANDUPDATE, RECORD_ACTION.CREATEANDPATCH, RECORD_ACTION.DELETE]);

export interface Busiest {
  readonly name: string;
  readonly count: number;
}

export interface TrafficFigures {
  /** Messages per second over the last interval, by topic name. */
  readonly inPerSecond: Readonly<Record<string, number>>;
  readonly outPerSecond: Readonly<Record<string, number>>;
  /** The most emitted events, written records and called RPCs of the last interval, on this node. */
  readonly busiestEvents: readonly Busiest[];
  readonly busiestRecords: readonly Busiest[];
  readonly busiestRpcs: readonly Busiest[];
}

/**
 * Message counts for the live view: in and out by topic (one array increment per message), and
 * per name for emits, record writes and RPC calls (one map update each, at most `maxNames`
 * distinct names per interval so a flood of new names cannot grow memory). `take` reads and resets.
 */
export class Traffic {
  private received = new Array<number>(OTHER + 1).fill(0);
  private sent = new Array<number>(OTHER + 1).fill(0);
  private events = new Map<string, number>();
  private records = new Map<string, number>();
  private rpcs = new Map<string, number>();
  private since = performance.now();

  constructor(private readonly maxNames: number) {}

  inbound(message: Message): void {
    this.received[SLOT_OF.get(message.topic) ?? OTHER]!++;
    const { name } = message;
    // The console's own calls are not what an operator looks for among the busiest names.
    if (name === undefined || name.startsWith(PREFIX)) return;
    if (message.topic === TOPIC.EVENT && message.action === EVENT_ACTION.EMIT) this.count(this.events, name);
    else if (message.topic === TOPIC.RECORD && RECORD_WRITES.has(message.action)) this.count(this.records, name);
    else if (message.topic === TOPIC.RPC && message.action === RPC_ACTION.REQUEST) this.count(this.rpcs, name);
  }

  outbound(message: Message): void {
    this.sent[SLOT_OF.get(message.topic) ?? OTHER]!++;
  }

  /** The figures since the last call, then starts counting afresh. */
  take(top: number): TrafficFigures {
    const now = performance.now();
    const seconds = Math.max((now - this.since) / 1000, 0.001);
    const perSecond = (counts: number[]) => Object.fromEntries(LABELS.map((label, slot) => [label, round(counts[slot]! / seconds)]));
    const figures: TrafficFigures = {
      inPerSecond: perSecond(this.received),
      outPerSecond: perSecond(this.sent),
      busiestEvents: busiest(this.events, top),
      busiestRecords: busiest(this.records, top),
      busiestRpcs: busiest(this.rpcs, top),
    };
    this.received.fill(0);
    this.sent.fill(0);
    this.events = new Map();
    this.records = new Map();
    this.rpcs = new Map();
    this.since = now;
    return figures;
  }

  private count(counts: Map<string, number>, name: string): void {
    const count = counts.get(name);
    if (count !== undefined) counts.set(name, count + 1);
    else if (counts.size < this.maxNames) counts.set(name, 1);
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

function busiest(counts: Map<string, number>, top: number): Busiest[] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, count]) => ({ name, count }));
}
