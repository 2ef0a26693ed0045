import {
  RECORD_ACTION,
  SharedMessage,
  SubscriptionRegistry,
  TOPIC,
  denialFor,
  type Admission,
  type AuthorizationFacts,
  type ClusterBus,
  type Message,
  type PluginContext,
  type Session,
  type StoredRecord,
  type ListeningService,
  type TopicAccess,
  type TopicListenerHandler,
} from '@deepstream-ts/core';
import type { RecordsOptions } from './options.ts';
import { LoadFailure, type RecordStore } from './record-store.ts';
import { ackOf, readResponse, recordError } from './replies.ts';
import { CREATE_ONLY, StoredState, isRecordName, recordAccess, writePermissions, type RecordFacts, type Stage } from './record-access.ts';
import { WriteQueues, WriteTicket } from './write-queue.ts';
import { parsePath, type PathToken } from './json-path.ts';
import { WRITE_ACTIONS, isRefusal, parseWrite, type Refusal } from './writes.ts';

const CLUSTER_CHANNEL = 'record';

/**
 * Owns the RECORD topic: subscriptions, reads, versioned writes through per-record queues,
 * deletes and notifies, fanned out to local subscribers and other nodes.
 */
export class RecordsService {
  readonly topic = TOPIC.RECORD;
  /** Who holds which record; the listening plugin can observe first/last subscribers. */
  readonly subscriptions: SubscriptionRegistry;
  readonly queues: WriteQueues;
  private cluster: ClusterBus | undefined;
  /** LISTEN traffic goes here when a listening plugin is configured. */
  readonly listeners: TopicListenerHandler | undefined;

  constructor(
    private readonly ctx: PluginContext<RecordsOptions>,
    private readonly store: RecordStore,
    listening: ListeningService | undefined,
  ) {
    this.subscriptions = new SubscriptionRegistry({ maxPerSession: ctx.config.connection.maxSubscriptionsPerConnection });
    this.listeners = listening?.forTopic('record', this.subscriptions);
    this.queues = new WriteQueues({
      store,
      log: ctx.log,
      broadcast: (name, message, except, ownCopy) => this.broadcast(name, message, except, true, ownCopy),
      reauthorize: (write, creates, facts) => this.reauthorize(write.session, write.request, write.name, writePermissions(write.request.action, creates || write.checkCreate), facts),
    }, ctx.options);
  }

  /** What the router asks the permission plugins before `handle` runs, and the facts it offers them. */
  access(): TopicAccess<RecordFacts> {
    return recordAccess(this.ctx.options, {
      prepareWrite: (session, message) => this.prepareWrite(session, message),
      load: (name) => this.store.load(name, false),
    });
  }

  /**
   * Changes cross the bus keyed by record name (RECORDS §13): this node registers interest in a
   * record while it has subscribers of it, and receives other nodes' changes of that record only.
   */
  attachCluster(cluster: ClusterBus): () => void {
    this.cluster = cluster;
    let attached = true;
    this.subscriptions.observe({
      onFirstSubscriber: (name) => attached && void cluster.interest(CLUSTER_CHANNEL, name),
      onLastSubscriber: (name) => attached && cluster.dropInterest(CLUSTER_CHANNEL, name),
    });
    const detach = cluster.subscribe(CLUSTER_CHANNEL, (message) => this.fromOtherNode(message));
    return () => {
      attached = false;
      detach();
    };
  }

  /** Settles once other nodes' changes of these records reach this node (undefined: they already do). */
  private registered(names: string | readonly string[]): Promise<void> | undefined {
    return this.cluster?.interested(CLUSTER_CHANNEL, names);
  }

  forget(session: Session): void {
    this.subscriptions.removeSession(session);
  }

  /** A record as stored now (undefined when missing), for plugins that decide on it (the `recordReader` service). */
  snapshot(name: string): Promise<StoredRecord | undefined> {
    return this.store.load(name, false);
  }

  handle(session: Session, message: Message, admission?: Admission<RecordFacts>): void | Promise<void> {
    const { action } = message;
    if (WRITE_ACTIONS.has(action)) return this.write(session, message, admission?.facts);
    switch (action) {
      case RECORD_ACTION.SUBSCRIBECREATEANDREAD:
        return this.subscribeAndRead(session, message, true, admission);
      case RECORD_ACTION.SUBSCRIBEANDREAD:
        return this.subscribeAndRead(session, message, false);
      case RECORD_ACTION.SUBSCRIBEANDHEAD:
        return this.subscribeAndHead(session, message);
      case RECORD_ACTION.SUBSCRIBE:
        return this.subscribe(session, message);
      case RECORD_ACTION.UNSUBSCRIBE:
        return this.unsubscribe(session, message);
      case RECORD_ACTION.READ:
        return this.read(session, message);
      case RECORD_ACTION.HEAD:
        return this.head(session, message);
      case RECORD_ACTION.DELETE:
        return this.delete(session, message);
      case RECORD_ACTION.NOTIFY:
        return this.notify(session, message, admission?.denied ?? 0);
      default:
        if (this.listeners?.handles(action)) return this.listeners.handle(session, message);
        // Unknown actions, and LISTEN without a listening plugin, are ignored (PROTOCOL §5.6).
        session.warn('unsupported record action ignored', { action, name: message.name });
    }
  }

  // ---- names and permissions -------------------------------------------------------------

  /** A usable record name, or a reply to the client saying why not. */
  private checkName(session: Session, request: Message, name: string | undefined): name is string {
    if (typeof name === 'string' && isRecordName(name, this.ctx.options.maxNameLength)) return true;
    session.warn(name ? `record name longer than ${this.ctx.options.maxNameLength} characters` : 'record message without a name', { action: request.action });
    session.send(recordError(RECORD_ACTION.INVALID_MESSAGE_DATA, request, name === undefined ? undefined : name.slice(0, 64)));
    return false;
  }

  /** Valid names of a bulk request; each invalid one is answered on its own. */
  private validNames(session: Session, request: Message): string[] {
    return (request.names ?? []).filter((name) => this.checkName(session, request, name));
  }

  /**
   * Asks again, through the kernel's door, when the state changed after the router's check: a write
   * allowed before, against the record another node's write left (cluster); a subscription's
   * create of a record that existed when it was checked. Replies MESSAGE_DENIED for the first refusal.
   */
  private async reauthorize(session: Session, request: Message, name: string, permissions: readonly Stage[], facts: AuthorizationFacts): Promise<boolean> {
    for (const { permission, action } of permissions) {
      const verdict = await this.ctx.authorize({ session, resource: 'record', name, permission, action, facts });
      if (!verdict.allowed) {
        session.send(denialFor(request, name, verdict));
        return false;
      }
    }
    return true;
  }

  // ---- subscriptions -----------------------------------------------------------------------

  /** `admission`: what the router checked, with the facts each name was judged with. */
  private subscribeAndRead(session: Session, request: Message, create: boolean, admission?: Admission<RecordFacts>): void {
    const names = request.names ?? [];
    this.validNames(session, request); // each invalid one answered
    session.send(ackOf(request, true)); // acked before any record is loaded (RECORDS §2.1)
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      if (isRecordName(name, this.ctx.options.maxNameLength)) void this.open(session, request, name, create, admission === undefined ? undefined : (admission.each?.[i] ?? null));
    }
  }

  /**
   * One record of a subscription: load, create if missing, subscribe, send the data. `judged`: the
   * facts the router judged the name with (null: it judged without); undefined when nothing judges.
   */
  private async open(session: Session, request: Message, name: string, create: boolean, judged?: RecordFacts | null): Promise<void> {
    let record: StoredRecord | undefined;
    try {
      record = await this.store.load(name, true);
      if (record === undefined && create) {
        // The router asked `create` only if the record was missing when it checked.
        const createAsked = judged instanceof StoredState && judged.missing;
        if (judged !== undefined && !createAsked && !(await this.reauthorize(session, request, name, CREATE_ONLY, judged ?? {}))) return;
        record = await this.queues.create(name);
      }
    } catch (error) {
      return this.replyLoadFailure(session, request, name, error, RECORD_ACTION.RECORD_CREATE_ERROR);
    }
    if (!this.subscribeOne(session, request, name, RECORD_ACTION.SUBSCRIBE)) return;
    // Other nodes' changes reach this node before the record is read (again) and reported ready.
    const registering = this.registered(name);
    if (registering !== undefined) await registering;
    if (record !== undefined || registering !== undefined) {
      // Read again now that the session is subscribed: a write landing meanwhile is not missed.
      record = (await this.store.load(name, true).catch(() => record)) ?? record;
    }
    session.send(record === undefined ? readResponse(name, -1, {}) : readResponse(name, record.version, record.data));
  }

  private async subscribeAndHead(session: Session, request: Message): Promise<void> {
    const names = this.validNames(session, request);
    // Registered before the versions are read, so that no change after them is missed; the
    // subscriptions below take their own references, this one is given back at the end.
    const registering = this.cluster?.interest(CLUSTER_CHANNEL, names);
    try {
      if (registering !== undefined) await registering;
      await this.headAndSubscribe(session, request, names);
    } finally {
      this.cluster?.dropInterest(CLUSTER_CHANNEL, names);
    }
  }

  private async headAndSubscribe(session: Session, request: Message, names: string[]): Promise<void> {
    let cached: Map<string, number>;
    try {
      cached = await this.store.headCached(names);
    } catch {
      cached = new Map();
    }
    session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD_RESPONSE_BULK, versions: Object.fromEntries(cached) });
    const subscribed = names.filter((name) => this.subscribeOne(session, request, name, RECORD_ACTION.SUBSCRIBEANDHEAD));
    session.send(ackOf(request, false));
    for (const name of subscribed) if (!cached.has(name)) void this.replyUncachedHead(session, request, name);
  }

  /**
   * A record the bulk cache lookup did not find: load it (cache, then storage) rather than
   * `store.head`, which would ask the cache for its version once more first. The error reply's
   * message is only built on failure, not once per name.
   */
  private async replyUncachedHead(session: Session, request: Message, name: string): Promise<void> {
    try {
      const record = await this.store.load(name, true);
      session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD_RESPONSE, name, version: record?.version ?? -1 });
    } catch (error) {
      this.replyLoadFailure(session, { ...request, action: RECORD_ACTION.HEAD, name }, name, error);
    }
  }

  private subscribe(session: Session, request: Message): void | Promise<void> {
    const names = this.validNames(session, request);
    for (const name of names) this.subscribeOne(session, request, name, RECORD_ACTION.SUBSCRIBE);
    const registering = this.registered(names);
    if (registering === undefined) return session.send(ackOf(request, false));
    return registering.then(() => {
      if (!session.isClosed) session.send(ackOf(request, false));
    });
  }

  /** @returns false when the session is closed or holds `maxSubscriptionsPerConnection` records (it was told). */
  private subscribeOne(session: Session, request: Message, name: string, originalAction: RECORD_ACTION): boolean {
    // A session that closed while its subscription was being checked must not be registered:
    // its disconnect cleanup has already run.
    if (session.isClosed) return false;
    const outcome = this.subscriptions.add(name, session);
    if (outcome === 'duplicate') {
      session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.MULTIPLE_SUBSCRIPTIONS, name, originalAction });
    } else if (outcome === 'full') {
      // MESSAGE_DENIED ends the official client's wait for the record; `data` names the limit.
      const reason = this.subscriptions.limitReason();
      session.warn(`record subscription refused: ${reason}`, { record: name });
      session.send({ ...denialFor(request, name, { allowed: false }), data: JSON.stringify(reason) });
      return false;
    }
    return true;
  }

  private unsubscribe(session: Session, request: Message): void {
    for (const name of request.names ?? []) this.subscriptions.unsubscribe(name, session);
    session.send(ackOf(request, false));
  }

  // ---- reads -------------------------------------------------------------------------------

  private async read(session: Session, request: Message): Promise<void> {
    const name = request.name;
    if (!this.checkName(session, request, name)) return;
    let record: StoredRecord | undefined;
    try {
      // While writes are applied, what the queue last broadcast: a reader that missed those
      // broadcasts (the client ignores them while it waits for this reply) must not get older data.
      record = this.queues.latest(name) ?? (await this.store.load(name, true));
    } catch (error) {
      return this.replyLoadFailure(session, request, name, error);
    }
    session.send(record === undefined ? recordError(RECORD_ACTION.RECORD_NOT_FOUND, request, name) : readResponse(name, record.version, record.data));
  }

  private async head(session: Session, request: Message): Promise<void> {
    const name = request.name;
    if (!this.checkName(session, request, name)) return;
    await this.replyHead(session, request, name);
  }

  private async replyHead(session: Session, request: Message, name: string): Promise<void> {
    try {
      const version = await this.store.head(name);
      session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD_RESPONSE, name, version });
    } catch (error) {
      this.replyLoadFailure(session, request, name, error);
    }
  }

  private replyLoadFailure(session: Session, request: Message, name: string, error: unknown, otherwise = RECORD_ACTION.RECORD_LOAD_ERROR): void {
    session.send(recordError(error instanceof LoadFailure ? error.action : otherwise, request, name));
  }

  // ---- writes ------------------------------------------------------------------------------

  /** `facts`: what the router judged the write with, when a permission plugin did. */
  private write(session: Session, request: Message, facts: RecordFacts | undefined): void | Promise<void> {
    // Allowed at its place in the queue: it goes ahead at its turn.
    if (facts instanceof WriteTicket) return facts.admit();
    const name = request.name;
    if (!this.checkName(session, request, name)) return;
    if (this.isHotPathWrite(name, request.action)) return this.hotPathWrite(session, request, name);
    const write = parseWrite(session, request, this.ctx.options, this.queues.has(name));
    if (isRefusal(write)) return this.refuse(session, request, name, write);
    this.queues.submit(write);
  }

  /**
   * A write as the router sees it before judging it: refused (the handler will say why), a hot-path
   * write, or a ticket in its record's queue, taken now so that writes keep their arrival order.
   */
  private prepareWrite(session: Session, request: Message): RecordFacts | undefined {
    const name = request.name;
    if (typeof name !== 'string' || !isRecordName(name, this.ctx.options.maxNameLength)) return undefined;
    const hot = this.isHotPathWrite(name, request.action);
    if (hot && request.action === RECORD_ACTION.CREATEANDPATCH) return undefined;
    const write = parseWrite(session, hot ? { ...request, version: -1 } : request, this.ctx.options, this.queues.has(name));
    if (isRefusal(write)) return undefined;
    if (hot) return { kind: 'hot', data: () => write.value };
    return this.queues.reserve(write);
  }

  private refuse(session: Session, request: Message, name: string, refusal: Refusal): void {
    session.warn(`record write refused: ${refusal.reason}`, { record: name });
    const reply = recordError(refusal.action, request, name);
    reply.data = JSON.stringify(refusal.reason);
    if (refusal.action === RECORD_ACTION.INVALID_VERSION && request.version !== undefined) reply.version = request.version;
    session.send(reply);
  }

  /** A create-and-write of a write-mostly record (RECORDS §7): it skips the queue. */
  private isHotPathWrite(name: string, action: number): boolean {
    if (action !== RECORD_ACTION.CREATEANDUPDATE && action !== RECORD_ACTION.CREATEANDPATCH) return false;
    return this.ctx.options.storageHotPathPrefixes.some((prefix) => name.startsWith(prefix));
  }

  /** Write-mostly records: no queue, no versioning, version 0 (RECORDS §7). */
  private async hotPathWrite(session: Session, request: Message, name: string): Promise<void> {
    if (request.action === RECORD_ACTION.CREATEANDPATCH) return session.send(recordError(RECORD_ACTION.INVALID_PATCH_ON_HOTPATH, request, name));
    const write = parseWrite(session, { ...request, version: -1 }, this.ctx.options, false);
    if (isRefusal(write)) return this.refuse(session, request, name, write);
    const { cache, durable } = this.store.write(name, { version: 0, data: write.value as StoredRecord['data'] });
    try {
      await cache;
      this.broadcast(name, { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name, version: 0, data: request.data, isWriteAck: false }, session);
      await durable;
      if (write.writeAck) session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT, name, correlationId: write.correlationId, isWriteAck: true });
    } catch {
      session.send(recordError(RECORD_ACTION.RECORD_UPDATE_ERROR, request, name));
    }
  }

  // ---- delete and notify -------------------------------------------------------------------

  private async delete(session: Session, request: Message): Promise<void> {
    const name = request.name;
    if (!this.checkName(session, request, name)) return;
    this.queues.abort(name);
    try {
      await this.store.delete(name);
    } catch {
      return session.send(recordError(RECORD_ACTION.RECORD_DELETE_ERROR, request, name));
    }
    session.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE_SUCCESS, name });
    const deleted: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETED, name };
    this.removeSubscribers(name, deleted, session);
    // Broadcast, not keyed: a node with no subscribers may still hold a write queue of the record to abort.
    this.cluster?.send(CLUSTER_CHANNEL, deleted);
  }

  /** Tells every subscriber but `except` that the record is gone, then unsubscribes all of them. */
  private removeSubscribers(name: string, deleted: Message, except: Session | undefined): void {
    const shared = new SharedMessage(deleted);
    for (const subscriber of [...this.subscriptions.subscribers(name)]) {
      if (subscriber !== except) subscriber.send(shared);
      this.subscriptions.unsubscribe(name, subscriber);
    }
  }

  /** `denied`: names the router denied (and answered); with none left there is nothing to do. */
  private async notify(session: Session, request: Message, denied: number): Promise<void> {
    const names = this.validNames(session, request);
    if (names.length === 0 && (denied > 0 || (request.names?.length ?? 0) > 0)) return;
    try {
      await this.store.evict(names);
    } catch (error) {
      const reply: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.RECORD_NOTIFY_ERROR, isError: true, data: JSON.stringify(String((error as Error).message)) };
      if (request.correlationId !== undefined) reply.correlationId = request.correlationId;
      return session.send(reply);
    }
    for (const name of names) this.queues.forgetHistory(name);
    await Promise.all(names.map((name) => this.reloadForSubscribers(name)));
    session.send(ackOf(request, true));
    // Broadcast, not keyed: every node forgets the merge histories it keeps, subscribed or not (RECORDS §13).
    this.cluster?.send(CLUSTER_CHANNEL, { topic: TOPIC.RECORD, action: RECORD_ACTION.NOTIFY, names: [...names] });
  }

  /** After a change behind the server's back: every local subscriber gets the stored state. */
  private async reloadForSubscribers(name: string): Promise<void> {
    if (this.subscriptions.subscribers(name).size === 0) return;
    let record: StoredRecord | undefined;
    try {
      record = await this.store.load(name, true);
    } catch {
      return; // logged by the store; subscribers keep what they have
    }
    if (record === undefined) return this.removeSubscribers(name, { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETED, name }, undefined);
    this.broadcast(name, { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name, version: record.version, data: JSON.stringify(record.data) }, undefined, false);
  }

  // ---- fan-out -----------------------------------------------------------------------------

  /** `ownCopy`: what `except` gets instead, if it is subscribed (the writer of a merged write). */
  private broadcast(name: string, message: Message, except: Session | undefined, toCluster = true, ownCopy?: Message): void {
    const shared = new SharedMessage(message);
    for (const subscriber of this.subscriptions.subscribers(name)) {
      if (subscriber !== except) subscriber.send(shared);
      else if (ownCopy !== undefined) subscriber.send(ownCopy);
    }
    if (toCluster) this.cluster?.sendKeyed(CLUSTER_CHANNEL, name, message);
  }

  /** Keeps another node's write in the record's merge history, so that writes based on it can merge here. */
  private followOtherNode(name: string, message: Message): void {
    if (message.version === undefined) return;
    let tokens: PathToken[] | undefined;
    if (message.path !== undefined) {
      const parsed = parsePath(message.path, this.ctx.options);
      if (typeof parsed === 'string') return;
      tokens = parsed;
    }
    let value: unknown;
    try {
      value = message.data === undefined ? undefined : JSON.parse(message.data);
    } catch {
      return;
    }
    this.queues.followOtherNode(name, message.version, tokens, value);
  }

  /** Other nodes applied the change to the shared cache and storage; we only tell our subscribers. */
  private fromOtherNode(message: Message): void {
    const name = message.name;
    switch (message.action) {
      case RECORD_ACTION.UPDATE:
      case RECORD_ACTION.PATCH:
        if (name === undefined) return;
        if (this.queues.hasHistory(name)) this.followOtherNode(name, message);
        this.broadcast(name, message, undefined, false);
        return;
      case RECORD_ACTION.DELETED:
        if (name === undefined) return;
        this.queues.abort(name);
        return this.removeSubscribers(name, message, undefined);
      case RECORD_ACTION.NOTIFY:
        for (const n of message.names ?? []) {
          this.queues.forgetHistory(n);
          void this.reloadForSubscribers(n);
        }
    }
  }
}
