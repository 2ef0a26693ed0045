import { STATE_ACTION, TOPIC, type Message } from '../protocol/messages.ts';
import { fnv1a } from '../util/hash.ts';
import type { ClusterBus } from './bus.ts';

/** Told when a name appears anywhere in the cluster (first holder) or disappears (last holder gone). */
export interface ReplicatedSetWatcher {
  added?(name: string): void;
  removed?(name: string): void;
  /** Another node started holding `name` (whether or not the name was already held elsewhere). */
  remoteAdded?(name: string, node: string): void;
}

const NO_NODES: ReadonlySet<string> = new Set();

/** How often a node repeats its checksum, so that a lost last message is noticed without a new change. */
export const CHECKSUM_INTERVAL = 5000;

/**
 * A set of names replicated across the cluster (PROTOCOL §10, "distributed state registries"):
 * each node says which names it holds (an RPC it provides, a record it has subscribers for…), and
 * every node sees the union. A node broadcasts only its own transitions, each with a checksum of
 * its whole local set (the wrapping sum of the names' FNV-1a hashes), so a receiver that missed something notices and asks for the full state;
 * the checksum is also repeated every few seconds, for a message lost with no change after it (a
 * Redis blip shorter than the node timeout); a joining node is sent the full state; a node that
 * leaves takes its names with it.
 *
 * On a single node it is a plain set: nothing is sent while there are no peers, and watchers are
 * called synchronously for local changes, exactly as for remote ones.
 */
export class ReplicatedSet {
  private readonly local = new Set<string>();
  private localChecksum = 0;
  /** Per name, the other nodes holding it. */
  private readonly holders = new Map<string, Set<string>>();
  /** Per node, the names it holds and their checksum as we computed it. */
  private readonly byNode = new Map<string, { names: Set<string>; checksum: number }>();
  private readonly watchers: ReplicatedSetWatcher[] = [];
  private readonly detach: Array<() => void>;
  private readonly checksumTimer: NodeJS.Timeout;

  constructor(
    private readonly bus: ClusterBus,
    /** Unique per registry: every node must use the same channel for the same set. */
    private readonly channel: string,
    checksumInterval = CHECKSUM_INTERVAL,
  ) {
    this.detach = [
      bus.subscribe(channel, (message, from) => this.receive(message, from)),
      bus.onMembership((change, node) => {
        // A newcomer knows nothing of us yet; an empty set needs no message.
        if (change === 'leave') this.dropNode(node);
        else if (this.local.size > 0) this.sendFullState(node);
      }),
    ];
    // Nodes already known may have sent their state before this set existed (a plugin set up late).
    for (const node of bus.peers) this.bus.sendDirect(node, channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.REQUEST_FULL_STATE });
    this.checksumTimer = setInterval(() => this.sendChecksum(), checksumInterval);
    this.checksumTimer.unref();
  }

  watch(watcher: ReplicatedSetWatcher): void {
    this.watchers.push(watcher);
  }

  /** This node holds `name`. @returns false when it already did. */
  add(name: string): boolean {
    if (this.local.has(name)) return false;
    this.local.add(name);
    this.localChecksum = (this.localChecksum + fnv1a(name)) | 0;
    this.broadcast(STATE_ACTION.ADD, name);
    if (!this.holders.has(name)) for (const w of this.watchers) w.added?.(name);
    return true;
  }

  /** This node no longer holds `name`. @returns false when it did not. */
  delete(name: string): boolean {
    if (!this.local.delete(name)) return false;
    this.localChecksum = (this.localChecksum - fnv1a(name)) | 0;
    this.broadcast(STATE_ACTION.REMOVE, name);
    if (!this.holders.has(name)) for (const w of this.watchers) w.removed?.(name);
    return true;
  }

  /** Held by any node, this one included. */
  has(name: string): boolean {
    return this.local.has(name) || this.holders.has(name);
  }

  hasLocal(name: string): boolean {
    return this.local.has(name);
  }

  /** The other nodes holding `name`. */
  remoteHolders(name: string): ReadonlySet<string> {
    return this.holders.get(name) ?? NO_NODES;
  }

  /** Every name held anywhere, each once. */
  *names(): IterableIterator<string> {
    yield* this.local;
    for (const name of this.holders.keys()) if (!this.local.has(name)) yield name;
  }

  get size(): number {
    let size = this.local.size;
    for (const name of this.holders.keys()) if (!this.local.has(name)) size++;
    return size;
  }

  close(): void {
    clearInterval(this.checksumTimer);
    for (const undo of this.detach) undo();
  }

  private broadcast(action: STATE_ACTION, name: string): void {
    if (this.bus.peers.size === 0) return;
    this.bus.send(this.channel, { topic: TOPIC.STATE_REGISTRY, action, fullState: [name], checksum: this.localChecksum });
  }

  private sendChecksum(): void {
    if (this.bus.peers.size === 0) return;
    this.bus.send(this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.CHECKSUM, checksum: this.localChecksum });
  }

  private sendFullState(node: string): void {
    this.bus.sendDirect(node, this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.FULL_STATE, fullState: [...this.local], checksum: this.localChecksum });
  }

  private receive(message: Message, from: string): void {
    switch (message.action) {
      case STATE_ACTION.ADD:
        for (const name of message.fullState ?? []) this.remoteAdd(from, name);
        return this.verify(from, message.checksum);
      case STATE_ACTION.REMOVE:
        for (const name of message.fullState ?? []) this.remoteDelete(from, name);
        return this.verify(from, message.checksum);
      case STATE_ACTION.CHECKSUM:
        return this.verify(from, message.checksum);
      case STATE_ACTION.FULL_STATE:
        return this.replaceNode(from, new Set(message.fullState ?? []));
      case STATE_ACTION.REQUEST_FULL_STATE:
        return this.sendFullState(from);
    }
  }

  /** A mismatch means we missed a transition of that node: ask for its whole set. */
  private verify(node: string, checksum: number | undefined): void {
    const view = this.byNode.get(node)?.checksum ?? 0;
    if (checksum !== undefined && checksum !== view) {
      this.bus.sendDirect(node, this.channel, { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.REQUEST_FULL_STATE });
    }
  }

  private remoteAdd(node: string, name: string): void {
    let view = this.byNode.get(node);
    if (view === undefined) this.byNode.set(node, (view = { names: new Set(), checksum: 0 }));
    if (view.names.has(name)) return;
    view.names.add(name);
    view.checksum = (view.checksum + fnv1a(name)) | 0;
    const wasHeld = this.has(name);
    let nodes = this.holders.get(name);
    if (nodes === undefined) this.holders.set(name, (nodes = new Set()));
    nodes.add(node);
    for (const w of this.watchers) w.remoteAdded?.(name, node);
    if (!wasHeld) for (const w of this.watchers) w.added?.(name);
  }

  private remoteDelete(node: string, name: string): void {
    const view = this.byNode.get(node);
    if (view === undefined || !view.names.delete(name)) return;
    view.checksum = (view.checksum - fnv1a(name)) | 0;
    const nodes = this.holders.get(name);
    nodes?.delete(node);
    if (nodes?.size !== 0) return;
    this.holders.delete(name);
    if (!this.local.has(name)) for (const w of this.watchers) w.removed?.(name);
  }

  private replaceNode(node: string, names: Set<string>): void {
    const view = this.byNode.get(node);
    for (const name of [...(view?.names ?? [])]) if (!names.has(name)) this.remoteDelete(node, name);
    for (const name of names) this.remoteAdd(node, name);
  }

  private dropNode(node: string): void {
    const view = this.byNode.get(node);
    if (view === undefined) return;
    for (const name of [...view.names]) this.remoteDelete(node, name);
    this.byNode.delete(node);
  }
}
