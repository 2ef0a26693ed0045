import {
  ReplicatedSet,
  SharedMessage,
  type ClusterBus,
  type Logger,
  type Message,
  type PluginContext,
  type Session,
  type SubscriptionRegistry,
} from '@deepstream-ts/core';
import type { ListenActions } from './actions.ts';
import { compilePattern } from './patterns.ts';
import { turnOf } from './turns.ts';
import type { ListeningOptions } from './options.ts';

interface Listener {
  readonly session: Session;
  readonly pattern: string;
}

interface Pattern {
  readonly regex: RegExp;
  /** In registration order: the candidate order when providers are not shuffled. */
  readonly sessions: Set<Session>;
}

/** An offer of one name going round the candidates, one at a time (RECORDS §11.3). */
interface Search {
  readonly candidates: Listener[];
  /** The registration count when the candidates were taken: later listeners are not among them. */
  readonly registrations: number;
  offered: Listener | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Made its first offer, or ended: LISTEN acks no longer wait for it (see matchExisting). */
  released: boolean;
  /** LISTEN acks waiting for that. */
  held: Array<() => void> | undefined;
}

/**
 * What starts a search: a trigger of its own (RECORDS §11.2, a new round: every listener may be asked), a
 * claim another node gave up in the current round (skipped by a node that already found no taker),
 * or the rematch (skipped within the cooldown of this node's last failure).
 */
type Trigger = 'round' | 'handoff' | 'rematch';

const sameListener = (a: Listener | undefined, session: Session, pattern: string | undefined) => a !== undefined && a.session === session && a.pattern === pattern;

/**
 * Listening for one topic (events or records): who listens to which pattern, which names have an
 * active provider, and the provider searches in flight. It watches the topic's subscription
 * registry for first and last subscribers, and is told when sessions go away.
 *
 * Across a cluster (RECORDS §11, EVENTS_RPC_PRESENCE §5) three replicated sets make it one system:
 * `subscribed` (names with subscribers on some node: searches start on the cluster-wide first
 * subscriber and stop on the last), `claimed` (names a node is searching a provider for, or has
 * one for) and `provided` (names with an active provider somewhere, for the record notices). A node
 * only offers a name to its own listeners, and only while no other node claims it; when a claim
 * ends without a provider, the other nodes try theirs. Two nodes claiming at once (they cannot
 * have seen each other's claim yet) settle it without a lock: each waits for a bus barrier after
 * claiming, by which time both have seen both claims, and the lower server name keeps it before
 * either offered it to anyone.
 */
export class TopicListeners {
  private readonly patterns = new Map<string, Pattern>();
  private readonly patternsBySession = new Map<Session, Set<string>>();
  /** Listen registrations so far: tells a running search whether it already has a listener (see matchExisting). */
  private registrations = 0;
  private readonly providers = new Map<string, Listener>();
  private readonly searches = new Map<string, Search>();
  /**
   * When a search for a name here last ended without a provider: for the rematch cooldown, and as
   * "already asked in this round" for hand-offs. Cleared when the name gets a provider or loses
   * its last subscriber, which is where a new round begins.
   */
  private readonly lastFailure = new Map<string, number>();
  /** Set while this node deletes its own claim: that is no hand-off to itself. */
  private releasing = false;
  private readonly subscribed: ReplicatedSet;
  private readonly claimed: ReplicatedSet;
  private readonly provided: ReplicatedSet;
  /** Searches waiting for this node's turn (see searchInTurn). */
  private readonly turns = new Map<string, NodeJS.Timeout>();
  private readonly rematchTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly actions: ListenActions,
    private readonly subscriptions: SubscriptionRegistry,
    private readonly ctx: PluginContext<ListeningOptions>,
    private readonly cluster: ClusterBus,
  ) {
    this.log = ctx.log;
    const channel = `listening/${actions.topic}`;
    this.subscribed = new ReplicatedSet(cluster, `${channel}/subscribed`);
    this.claimed = new ReplicatedSet(cluster, `${channel}/claimed`);
    this.provided = new ReplicatedSet(cluster, `${channel}/provided`);
    subscriptions.observe({
      onFirstSubscriber: (name) => this.subscribed.add(name),
      onSubscribe: (name, session) => this.announceProvider(name, session),
      onLastSubscriber: (name) => this.subscribed.delete(name),
    });
    this.subscribed.watch({
      added: (name) => this.searchInTurn(name, 'round'),
      removed: (name) => this.lastSubscriberLeft(name),
    });
    this.claimed.watch({
      remoteAdded: (name, node) => this.claimedElsewhere(name, node),
      // Another node gave up its claim: listeners here may take it, unless they were asked in this
      // round already (see search). Not this node's own claim ending: searching again would ask
      // the same listeners at once, round and round while they refuse.
      removed: (name) => {
        if (!this.releasing) this.searchInTurn(name, 'handoff');
      },
    });
    this.provided.watch({
      added: (name) => {
        this.lastFailure.delete(name); // a failure before it was provided says nothing about later
        this.notifySubscribers(name, 'HAS_PROVIDER');
      },
      removed: (name) => this.providerGone(name),
    });
    const { rematchInterval } = ctx.options;
    if (rematchInterval > 1000) {
      this.rematchTimer = setInterval(() => this.rematch(), rematchInterval);
      this.rematchTimer.unref();
    } else {
      this.log.warn({ rematchInterval }, 'listen rematch disabled (interval must be above 1000 ms)');
    }
  }

  /** Counts for tests and metrics: everything must drop to zero once clients are gone. */
  get stats(): { patterns: number; providers: number; searches: number; sessions: number } {
    return { patterns: this.patterns.size, providers: this.providers.size, searches: this.searches.size, sessions: this.patternsBySession.size };
  }

  /** The patterns a session listens to (for inspection). */
  patternsOf(session: Session): ReadonlySet<string> | undefined {
    return this.patternsBySession.get(session);
  }

  handles(action: number): boolean {
    const a = this.actions;
    return action === a.LISTEN || action === a.UNLISTEN || action === a.LISTEN_ACCEPT || action === a.LISTEN_REJECT;
  }

  handle(session: Session, message: Message): void | Promise<void> {
    const a = this.actions;
    switch (message.action) {
      case a.LISTEN:
        return this.listen(session, message);
      case a.UNLISTEN:
        return this.unlisten(session, message);
      case a.LISTEN_ACCEPT:
        return this.accept(session, message);
      case a.LISTEN_REJECT:
        return this.reject(session, message);
    }
  }

  /** A session is gone: its patterns and the names it provided are released. */
  forget(session: Session): void {
    for (const pattern of [...(this.patternsBySession.get(session) ?? [])]) this.removeListener(session, pattern);
  }

  close(): void {
    clearInterval(this.rematchTimer);
    for (const search of this.searches.values()) {
      clearTimeout(search.timer);
      releaseHeld(search);
    }
    this.searches.clear();
    for (const timer of this.turns.values()) clearTimeout(timer);
    this.turns.clear();
    for (const set of [this.subscribed, this.claimed, this.provided]) set.close();
  }

  // ---- listen / unlisten -------------------------------------------------------------------

  private listen(session: Session, message: Message): void {
    const pattern = message.name;
    if (pattern === undefined) return session.warn('LISTEN without a pattern');
    const compiled = this.overLimit(session) ?? compilePattern(pattern, this.ctx.options);
    if (typeof compiled === 'string') return this.refuse(session, pattern, compiled);
    // `listen` was asked by the router, before the topic's owner handed the message here.
    if (session.isClosed) return;
    if (this.patternsBySession.get(session)?.has(pattern)) {
      // The reference server crashes here; the official client never does it.
      return session.send({ topic: this.actions.topic, action: this.actions.MULTIPLE_SUBSCRIPTIONS, name: pattern, originalAction: message.action });
    }
    let entry = this.patterns.get(pattern);
    if (entry === undefined) this.patterns.set(pattern, (entry = { regex: compiled, sessions: new Set() }));
    entry.sessions.add(session);
    let own = this.patternsBySession.get(session);
    if (own === undefined) this.patternsBySession.set(session, (own = new Set()));
    own.add(pattern);
    const registration = ++this.registrations;
    if (this.cluster.peers.size === 0) return this.matchExisting(session, pattern, entry.regex, registration, message);
    // Read-your-writes (RECORDS §13): once every peer answered a barrier, this node has every
    // subscription any node acknowledged before this LISTEN arrived. Subscriptions arriving in
    // the meantime already meet the pattern, registered above. Not awaited by the router, so the
    // session's next messages are not held up.
    void this.cluster.barrier().then(() => this.matchExisting(session, pattern, entry.regex, registration, message));
  }

  /** Offers the existing subscriptions (on any node) to a new listener, then acks, as the reference server does. */
  private matchExisting(session: Session, pattern: string, regex: RegExp, registration: number, message: Message): void {
    if (session.isClosed) return;
    const ack = this.echo(message);
    let held = 1; // this loop's own share, released after it
    const release = () => {
      if (--held === 0) session.send(ack);
    };
    if (this.isListening({ session, pattern })) {
      for (const name of this.subscribed.names()) {
        if (!regex.test(name) || this.providers.has(name)) continue;
        const running = this.searches.get(name);
        // A search started since the registration has the listener among its candidates already.
        if (running !== undefined && running.registrations < registration) running.candidates.push({ session, pattern });
        // A search's first offer follows the read check (and, in a cluster, the claim's barrier):
        // the ack waits for it, so that the listener hears of matches known before the ack first.
        const search = running ?? this.search(name);
        if (search !== undefined && !search.released) {
          held++;
          (search.held ??= []).push(release);
        }
      }
    }
    release();
  }

  /** Why one more pattern of this session is refused, or undefined. An integer comparison. */
  private overLimit(session: Session): string | undefined {
    const max = this.ctx.options.maxListenPatternsPerConnection;
    return (this.patternsBySession.get(session)?.size ?? 0) >= max ? `maxListenPatternsPerConnection (${max}) reached` : undefined;
  }

  /** INVALID_LISTEN_REGEX with the reason as data: the official client emits it on `error` with the message. */
  private refuse(session: Session, pattern: string, reason: string): void {
    session.warn(`listen pattern refused: ${reason}`, { pattern: pattern.slice(0, 100) });
    session.send({ topic: this.actions.topic, action: this.actions.INVALID_LISTEN_REGEX, name: pattern, data: JSON.stringify(reason), isError: true });
  }

  private unlisten(session: Session, message: Message): void {
    const pattern = message.name;
    if (pattern === undefined || !this.patternsBySession.get(session)?.has(pattern)) return; // unknown: no reply (RECORDS §11.1)
    this.removeListener(session, pattern);
    session.send(this.echo(message));
  }

  private removeListener(session: Session, pattern: string): void {
    const own = this.patternsBySession.get(session);
    own?.delete(pattern);
    if (own?.size === 0) this.patternsBySession.delete(session);
    const entry = this.patterns.get(pattern);
    entry?.sessions.delete(session);
    if (entry?.sessions.size === 0) this.patterns.delete(pattern);
    for (const [name, provider] of [...this.providers]) {
      if (sameListener(provider, session, pattern)) this.providerLost(name);
    }
    for (const [name, search] of [...this.searches]) {
      if (sameListener(search.offered, session, pattern)) this.offerNext(name, search);
    }
  }

  // ---- searches ----------------------------------------------------------------------------

  /**
   * Starts offering `name` to matching listeners here, unless nobody subscribes, it is provided,
   * already on offer, or claimed by another node; a hand-off or a rematch is also skipped after a
   * failure here (see Trigger).
   */
  private search(name: string, trigger: Trigger = 'round'): Search | undefined {
    if (this.providers.has(name) || this.searches.has(name) || !this.subscribed.has(name)) return;
    if (this.provided.has(name) || this.claimed.remoteHolders(name).size > 0) return;
    if (trigger !== 'round' && this.failedRecently(name, trigger)) return;
    const candidates: Listener[] = [];
    for (const [pattern, entry] of this.patterns) {
      if (entry.regex.test(name)) for (const session of entry.sessions) candidates.push({ session, pattern });
    }
    if (candidates.length === 0) {
      this.updateClaim(name);
      return;
    }
    if (this.ctx.options.shuffleProviders) shuffle(candidates);
    const search: Search = { candidates, registrations: this.registrations, offered: undefined, timer: undefined, released: false, held: undefined };
    this.searches.set(name, search);
    this.updateClaim(name);
    if (this.cluster.peers.size === 0) {
      this.offerNext(name, search);
      return search;
    }
    // Claim, then a barrier, then offer. Two nodes that claimed without seeing each other have
    // both seen both claims once their barriers return (each peer answers after what it sent
    // before), so the loser (claimedElsewhere) withdraws before it asked anyone: no listener is
    // asked twice, and no two are offered the name at once, however late a node's turn came.
    void this.cluster.barrier().then(() => {
      if (this.searches.get(name) === search) this.offerNext(name, search);
    });
    return search;
  }

  /**
   * A search may be prompted on several nodes at once: first subscribers on several nodes, or a
   * claim or provider gone that every node hears of. Rather than all offering the name together,
   * each node waits for its turn (the subscribers' nodes first, see turnOf) and looks again: by
   * then the earlier one's claim has usually arrived. If it has not (a slow bus, a busy node), the
   * claim's barrier in `search` still lets only one of them offer. Alone, a node never waits.
   */
  private searchInTurn(name: string, trigger: Trigger): void {
    const { serverName, peers } = this.cluster;
    const subscribes = (node: string) => (node === serverName ? this.subscribed.hasLocal(name) : this.subscribed.remoteHolders(name).has(node));
    const turn = turnOf(serverName, peers, name, subscribes, this.ctx.options.shuffleProviders) * this.ctx.options.clusterTurn;
    if (turn === 0) {
      this.search(name, trigger);
      return;
    }
    if (this.turns.has(name) || !this.anyPatternMatches(name)) return;
    const timer = setTimeout(() => {
      this.turns.delete(name);
      this.search(name, trigger);
    }, turn);
    timer.unref();
    this.turns.set(name, timer);
  }

  /**
   * A hand-off skips a node that found no taker since the round began; a rematch one that did
   * within `matchCooldown`, and in a cluster at least until the other nodes had their turns
   * (`2 × nodes × clusterTurn`), so that a short cooldown does not ask this node's listeners again
   * before the rest of the cluster's were asked once.
   */
  private failedRecently(name: string, trigger: Trigger): boolean {
    const failed = this.lastFailure.get(name);
    if (failed === undefined) return false;
    if (trigger === 'handoff') return true;
    const { matchCooldown, clusterTurn } = this.ctx.options;
    const nodes = this.cluster.peers.size + 1;
    const cooldown = nodes > 1 ? Math.max(matchCooldown, 2 * nodes * clusterTurn) : matchCooldown;
    return failed > Date.now() - cooldown;
  }

  private anyPatternMatches(name: string): boolean {
    for (const entry of this.patterns.values()) if (entry.regex.test(name)) return true;
    return false;
  }

  private offerNext(name: string, search: Search): void {
    clearTimeout(search.timer);
    let next = search.candidates.shift();
    // Skip listeners that left since the search started.
    while (next !== undefined && !this.isListening(next)) next = search.candidates.shift();
    search.offered = undefined;
    if (next === undefined) {
      this.searches.delete(name);
      releaseHeld(search);
      this.lastFailure.set(name, Date.now());
      return this.updateClaim(name); // other nodes' listeners get their turn
    }
    // A listener is offered only names it may read (a deliberate difference, README: Permissions).
    // Asked as the router would ask the listener's own read of the name, with the owner's facts.
    const candidate = next;
    void this.ctx.admit(next.session, this.readRequest(name)).then((v) => {
      // The search may have ended (last subscriber gone, a provider found elsewhere) while the rule ran.
      if (this.searches.get(name) !== search) return;
      if (v.allowed && this.isListening(candidate)) this.offer(name, search, candidate);
      else this.offerNext(name, search);
    });
  }

  private offer(name: string, search: Search, next: Listener): void {
    search.offered = next;
    next.session.send({ topic: this.actions.topic, action: this.actions.SUBSCRIPTION_FOR_PATTERN_FOUND, name: next.pattern, subscription: name });
    releaseHeld(search);
    search.timer = setTimeout(() => {
      next.session.send({ topic: this.actions.topic, action: this.actions.LISTEN_RESPONSE_TIMEOUT, subscription: name });
      this.offerNext(name, search);
    }, this.ctx.options.responseTimeout);
    search.timer.unref();
  }

  private isListening(listener: Listener): boolean {
    return this.patternsBySession.get(listener.session)?.has(listener.pattern) === true;
  }

  /** The request a subscriber of `name` would have made, put to the permission plugins for a listener. */
  private readRequest(name: string): Message {
    return { topic: this.actions.topic, action: this.actions.readCheck.action, name, names: [name] };
  }

  /** The offered listener takes the name: it is the one active provider until told otherwise. */
  private accept(session: Session, message: Message): void {
    const name = message.subscription;
    const search = name === undefined ? undefined : this.searches.get(name);
    // Late, unsolicited or mismatched replies are ignored silently (RECORDS §11.3.6).
    if (name === undefined || search === undefined || !sameListener(search.offered, session, message.name)) return;
    clearTimeout(search.timer);
    this.searches.delete(name);
    this.lastFailure.delete(name);
    this.providers.set(name, search.offered!);
    this.provided.add(name); // subscribers on every node hear SUBSCRIPTION_HAS_PROVIDER
  }

  private reject(session: Session, message: Message): void {
    const name = message.subscription;
    const search = name === undefined ? undefined : this.searches.get(name);
    if (name === undefined || search === undefined || !sameListener(search.offered, session, message.name)) return;
    this.offerNext(name, search);
  }

  // ---- subscribers come and go -------------------------------------------------------------

  private announceProvider(name: string, session: Session): void {
    const notices = this.actions.providerNotices;
    if (notices !== undefined && this.provided.has(name)) session.send({ topic: this.actions.topic, action: notices.HAS_PROVIDER, name });
  }

  /** Nobody anywhere wants the name any more: the provider is told to stop, an offer is withdrawn. */
  private lastSubscriberLeft(name: string): void {
    this.withdraw(name);
    this.lastFailure.delete(name);
  }

  /**
   * Another node claims a name. If this node claims it too, both started at once; the lower
   * server name keeps it, and the other withdraws its offer or provider without a word to
   * subscribers (the winner's provider takes over).
   */
  private claimedElsewhere(name: string, node: string): void {
    if (!this.claimed.hasLocal(name) || node > this.cluster.serverName) return;
    this.log.debug({ name, node }, 'listen claim conflict: the other node keeps the name');
    this.withdraw(name);
  }

  /** Drops this node's provider or search for `name`, telling the listener to stop. */
  private withdraw(name: string): void {
    const provider = this.providers.get(name);
    if (provider !== undefined) {
      this.providers.delete(name);
      this.tellRemoved(provider, name);
    }
    const search = this.searches.get(name);
    if (search !== undefined) {
      clearTimeout(search.timer);
      this.searches.delete(name);
      releaseHeld(search);
      if (search.offered !== undefined) this.tellRemoved(search.offered, name);
    }
    this.provided.delete(name);
    this.updateClaim(name);
  }

  /** This node claims a name exactly while it searches a provider for it or has one. */
  private updateClaim(name: string): void {
    if (this.providers.has(name) || this.searches.has(name)) {
      this.claimed.add(name);
      return;
    }
    this.releasing = true; // the set tells its watchers synchronously
    try {
      this.claimed.delete(name);
    } finally {
      this.releasing = false;
    }
  }

  private tellRemoved(listener: Listener, name: string): void {
    listener.session.send({ topic: this.actions.topic, action: this.actions.SUBSCRIPTION_FOR_PATTERN_REMOVED, name: listener.pattern, subscription: name });
  }

  /** The local provider unlistened or vanished: the name is up for a new search (providerGone). */
  private providerLost(name: string): void {
    this.providers.delete(name);
    this.provided.delete(name);
    this.updateClaim(name);
  }

  /**
   * No node provides the name any more (its provider left, or its node did): subscribers here are
   * told, and the next listener is sought; this node keeps its claim while it searches its own.
   */
  private providerGone(name: string): void {
    if (!this.subscribed.has(name)) return this.updateClaim(name);
    this.notifySubscribers(name, 'HAS_NO_PROVIDER');
    if (!this.claimed.hasLocal(name)) return this.searchInTurn(name, 'round');
    this.search(name);
    this.updateClaim(name);
  }

  private notifySubscribers(name: string, notice: 'HAS_PROVIDER' | 'HAS_NO_PROVIDER'): void {
    const notices = this.actions.providerNotices;
    if (notices === undefined) return;
    const shared = new SharedMessage({ topic: this.actions.topic, action: notices[notice], name });
    for (const subscriber of this.subscriptions.subscribers(name)) subscriber.send(shared);
  }

  /**
   * Offers again every subscribed, unprovided name (a listener that refused may want it now);
   * not one waiting for this node's turn: that search is coming, in its order.
   */
  private rematch(): void {
    if (this.patterns.size === 0) return;
    for (const name of this.subscribed.names()) if (!this.turns.has(name)) this.search(name, 'rematch');
  }

  private echo(message: Message): Message {
    return { topic: this.actions.topic, action: message.action, name: message.name, isAck: true };
  }
}

/** Lets the LISTEN acks held by a search go: it made its first offer, or ended. */
function releaseHeld(search: Search): void {
  search.released = true;
  const held = search.held;
  if (held === undefined) return;
  search.held = undefined;
  for (const resolve of held) resolve();
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
