import { STATE_ACTION, TOPIC, fnv1a, type ClusterBus, type Message } from '@deepstream-ts/core';

interface Entry {
  readonly value: string;
  readonly expires: number;
}

/**
 * Small facts every cluster node keeps until they expire (the token keys and revocations): what a
 * node adds is broadcast, a node that joins is sent every live entry by each peer, and the union
 * is kept. Unlike a ReplicatedSet's names, an entry belongs to no node: it outlives the node that
 * added it, so a node that restarts learns its own old keys and revocations back from the others.
 * Every node should hold the same entries, so each repeats a checksum of its own every
 * `CHECKSUM_INTERVAL`; a node whose checksum differs is asked for its entries, so an add lost in
 * a short Redis blip (shorter than the node timeout: nobody left) is repaired within seconds.
 * Alone, it is a map with expiries, and sends nothing.
 *
 * On the wire an entry is `expires id value`; ids and values must hold no space.
 */
export class SharedTable {
  private readonly entries = new Map<string, Entry>();
  private readonly detach: Array<() => void>;
  private readonly sweeper: NodeJS.Timeout;
  private readonly checksums: NodeJS.Timeout;

  constructor(
    private readonly bus: ClusterBus,
    private readonly channel: string,
    /** Most entries this node adds; past it `add` refuses (entries from peers are always kept). */
    private readonly max: number,
    sweepInterval: number,
  ) {
    this.detach = [
      bus.subscribe(channel, (message, from) => this.receive(message, from)),
      bus.onMembership((change, node) => change === 'join' && this.sendAll(node)),
    ];
    this.sweeper = setInterval(() => this.sweep(), sweepInterval);
    this.sweeper.unref();
    this.checksums = setInterval(() => this.sendChecksum(), CHECKSUM_INTERVAL);
    this.checksums.unref();
  }

  /** The value of a live entry. */
  get(id: string): string | undefined {
    const entry = this.entries.get(id);
    return entry !== undefined && entry.expires > Date.now() ? entry.value : undefined;
  }

  /**
   * Adds an entry here and on every node. @returns false when this node holds `max` entries
   * already, unless `bounded` is false (for the few entries that must never be refused).
   */
  add(id: string, value: string, expires: number, bounded = true): boolean {
    if (bounded && this.entries.size >= this.max && !this.entries.has(id)) {
      this.sweep();
      if (this.entries.size >= this.max) return false;
    }
    this.entries.set(id, { value, expires });
    if (this.bus.peers.size > 0) this.bus.send(this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.ADD, fullState: [line(id, value, expires)] });
    return true;
  }

  close(): void {
    clearInterval(this.sweeper);
    clearInterval(this.checksums);
    for (const undo of this.detach) undo();
    this.entries.clear();
  }

  private sendAll(node: string): void {
    const now = Date.now();
    const lines: string[] = [];
    for (const [id, { value, expires }] of this.entries) if (expires > now) lines.push(line(id, value, expires));
    if (lines.length > 0) this.bus.sendDirect(node, this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.FULL_STATE, fullState: lines });
  }

  /** Sum of the live entries' hashes; entries about to expire are left out, so that two nodes agree near an expiry. */
  private checksum(): number {
    const soon = Date.now() + CHECKSUM_INTERVAL;
    let sum = 0;
    for (const [id, entry] of this.entries) if (entry.expires > soon) sum = (sum + fnv1a(id)) | 0;
    return sum;
  }

  private sendChecksum(): void {
    if (this.bus.peers.size > 0) this.bus.send(this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.CHECKSUM, checksum: this.checksum() });
  }

  private receive(message: Message, from: string): void {
    if (message.action === STATE_ACTION.CHECKSUM) {
      if (message.checksum !== this.checksum()) this.bus.sendDirect(from, this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.REQUEST_FULL_STATE });
      return;
    }
    if (message.action === STATE_ACTION.REQUEST_FULL_STATE) return this.sendAll(from);
    if (message.action !== STATE_ACTION.ADD && message.action !== STATE_ACTION.FULL_STATE) return;
    const now = Date.now();
    for (const text of message.fullState ?? []) {
      const first = text.indexOf(' ');
      const second = text.indexOf(' ', first + 1);
      const expires = Number(text.slice(0, first));
      if (first < 1 || second < 0 || !(expires > now)) continue;
      const id = text.slice(first + 1, second);
      const known = this.entries.get(id);
      if (known === undefined || known.expires < expires) this.entries.set(id, { value: text.slice(second + 1), expires });
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) if (entry.expires <= now) this.entries.delete(id);
  }
}

/** How often each node repeats its checksum. */
const CHECKSUM_INTERVAL = 5000;

const line = (id: string, value: string, expires: number) => `${expires} ${id} ${value}`;
