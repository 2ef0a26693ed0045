import type { Logger } from 'pino';
import { AUTH_ACTION, CONNECTION_ACTION, PARSER_ACTION, TOPIC, type Message, type JSONValue } from '../protocol/messages.ts';
import { SharedMessage } from '../protocol/codec.ts';
import type { Connection, ConnectionInfo } from '../transport/transport.ts';
import type { AuthenticationRequest, KernelHooks } from '../hooks.ts';
import type { Router } from '../router.ts';
import type { ConnectionOptions } from '../config/options.ts';
import type { LoginResult } from './login-guard.ts';
import { tooManyNames } from './too-many-names.ts';

export type { ConnectionInfo };

export const enum SessionState {
  AwaitingChallenge = 0,
  AwaitingAuthentication = 1,
  Open = 2,
  Closed = 3,
}

/** What every session of one kernel shares. Built once per kernel, not per connection. */
export interface SessionEnvironment {
  readonly hooks: KernelHooks;
  readonly router: Router;
  readonly options: ConnectionOptions;
  readonly log: Logger;
  /** The kernel's one door for logins: the backoff, then the strategies. Never rejects. */
  authenticate(authData: AuthenticationRequest['authData'], connection: ConnectionInfo): Promise<LoginResult>;
  onOpen(session: Session): void;
  onClose(session: Session): void;
}

// Replies that never vary are encoded once per codec and reused by every session.
const ACCEPT = new SharedMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
const PONG = new SharedMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });
const CONNECTION_INVALID_MESSAGE = new SharedMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.INVALID_MESSAGE });
const AUTHENTICATION_TIMEOUT = new SharedMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT });
const AUTH_INVALID_MESSAGE = new SharedMessage({ topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE });
const TOO_MANY_AUTH_ATTEMPTS = new SharedMessage({ topic: TOPIC.AUTH, action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS });
const UNKNOWN_TOPIC = new SharedMessage({ topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC });

/** The reference server closes ~10 ms after TOO_MANY_AUTH_ATTEMPTS so the message gets out first. */
const CLOSE_AFTER_LAST_ATTEMPT_MS = 10;

let nextSessionId = 0;

/**
 * One client, from socket open to close: the v7 handshake and authentication state machine
 * (PROTOCOL §6), then routing of every message to the plugin that owns its topic.
 */
export class Session {
  readonly id = `s${(nextSessionId++).toString(36)}`;
  /** Set once authenticated: the strategy's id, or `OPEN` when it gave none. */
  userId: string | undefined;
  serverData: JSONValue | undefined;
  clientData: JSONValue | undefined;
  /** Milliseconds timestamp of the last frame received, for the heartbeat sweep. */
  lastSeen = Date.now();

  private state = SessionState.AwaitingChallenge;
  private failedAuthAttempts = 0;
  /** One login check at a time; requests that arrive meanwhile wait here, within the attempts left. */
  private authInFlight = false;
  private queuedAuth: AuthenticationRequest['authData'][] | undefined;
  private warnedDroppedAuth = false;
  private unauthenticatedTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly connection: Connection,
    private readonly env: SessionEnvironment,
  ) {
    const timeout = env.options.unauthenticatedClientTimeout;
    if (timeout !== false) {
      this.unauthenticatedTimer = setTimeout(() => this.onUnauthenticatedTimeout(), timeout);
      this.unauthenticatedTimer.unref();
    }
  }

  get info(): ConnectionInfo {
    return this.connection.info;
  }

  get isAuthenticated(): boolean {
    return this.state === SessionState.Open;
  }

  get isClosed(): boolean {
    return this.state === SessionState.Closed;
  }

  /** Sends one message. Use a `SharedMessage` to send the same message to many sessions. */
  send(message: Message | SharedMessage): void {
    if (this.state === SessionState.Closed) return;
    const connection = this.connection;
    const shared = message instanceof SharedMessage;
    connection.send(shared ? message.encodedFor(connection.codec) : connection.codec.encode(message));
    if (this.env.hooks.outbound.isUsed()) this.env.hooks.outbound.call(this, shared ? message.message : message);
    if (connection.bufferedBytes > this.env.options.outgoingBufferLimit) this.dropSlowConsumer();
  }

  /** Closes the connection cleanly after queued messages are written. */
  close(): void {
    if (this.state !== SessionState.Closed) this.connection.close();
  }

  /**
   * Entry point for the transport: one frame from the client. A promise back means its topic
   * handler is still at work; it settles (never rejects) once the message was handled.
   */
  receive(frame: Uint8Array): void | Promise<void> {
    this.lastSeen = Date.now();
    const message = this.connection.codec.decode(frame);
    switch (this.state) {
      case SessionState.Open:
        return this.dispatch(message, frame);
      case SessionState.AwaitingChallenge:
        return this.expectChallenge(message);
      case SessionState.AwaitingAuthentication:
        return this.expectAuthentication(message);
      case SessionState.Closed:
        return;
    }
  }

  /** Entry point for the transport: the link is gone. Idempotent. */
  closed(): void {
    if (this.state === SessionState.Closed) return;
    this.state = SessionState.Closed;
    clearTimeout(this.unauthenticatedTimer);
    this.unauthenticatedTimer = undefined;
    this.queuedAuth = undefined; // no login work after close
    this.env.onClose(this);
  }

  /**
   * Turns a connection away before any plugin sees it: CONNECTION REJECT with the reason as JSON
   * `data` (the client stops, without reconnecting), then close. `closed()` will find nothing to do.
   */
  reject(reason: string): void {
    if (this.state === SessionState.Closed) return;
    clearTimeout(this.unauthenticatedTimer);
    this.unauthenticatedTimer = undefined;
    this.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.REJECT, data: JSON.stringify(reason) });
    this.state = SessionState.Closed; // before close: a transport may report the close synchronously
    this.connection.close();
  }

  private dispatch(message: Message | undefined, frame: Uint8Array): void | Promise<void> {
    const { hooks, router } = this.env;
    if (message === undefined) {
      this.warn('undecodable frame', { bytes: frame.byteLength });
      return this.send(UNKNOWN_TOPIC);
    }
    if (message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PING) return this.send(PONG);
    // One integer comparison: a bulk message that would cost every name's work is refused whole.
    if (message.names !== undefined && message.names.length > this.env.options.maxNamesPerMessage) return this.refuseTooManyNames(message);
    if (hooks.inbound.isUsed() && hooks.inbound.call(this, message) === 'drop') return;
    const routed = router.route(this, message);
    if (routed === false) {
      this.warn('message for a topic no plugin owns', { topic: message.topic, action: message.action });
      this.send(UNKNOWN_TOPIC);
    } else if (routed !== true) {
      return routed;
    }
  }

  private refuseTooManyNames(message: Message): void {
    const limit = this.env.options.maxNamesPerMessage;
    this.warn('message refused: more names than connection.maxNamesPerMessage', { topic: message.topic, action: message.action, names: message.names!.length, limit });
    this.send(tooManyNames(message, limit));
  }

  private expectChallenge(message: Message | undefined): void {
    if (message?.topic === TOPIC.CONNECTION) {
      if (message.action === CONNECTION_ACTION.CHALLENGE) {
        this.state = SessionState.AwaitingAuthentication;
        return this.send(ACCEPT);
      }
      if (message.action !== CONNECTION_ACTION.PING) this.env.log.debug({ session: this.id, action: message.action }, 'connection action before the challenge ignored');
      return; // PING and other connection actions are ignored before the challenge
    }
    this.warn('message before the connection challenge', { topic: message?.topic, action: message?.action });
    this.send(CONNECTION_INVALID_MESSAGE);
  }

  private expectAuthentication(message: Message | undefined): void {
    if (message?.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PING) return;
    if (message?.topic !== TOPIC.AUTH) {
      this.warn('message before login', { topic: message?.topic, action: message?.action });
      return this.send(AUTH_INVALID_MESSAGE);
    }
    if (message.action !== AUTH_ACTION.REQUEST) {
      this.warn('unexpected auth action', { action: message.action });
      return this.rejectAuthData({ originalAction: message.action });
    }
    // Pending and queued checks count as attempts: a connection is never checked more than
    // maxAuthAttempts times, so pipelined guesses past that are dropped unread.
    if (this.failedAuthAttempts + (this.authInFlight ? 1 : 0) + (this.queuedAuth?.length ?? 0) >= this.env.options.maxAuthAttempts) {
      return this.dropAuthRequest();
    }
    let authData: unknown;
    try {
      authData = message.data === undefined ? undefined : JSON.parse(message.data);
    } catch {
      authData = undefined;
    }
    if (authData === null || typeof authData !== 'object') {
      this.warn('auth data is not a JSON object'); // the data itself may hold a password: never logged
      return this.rejectAuthData({});
    }
    if (this.authInFlight) (this.queuedAuth ??= []).push(authData as Record<string, unknown>);
    else this.checkLogin(authData as Record<string, unknown>);
  }

  private checkLogin(authData: AuthenticationRequest['authData']): void {
    this.authInFlight = true;
    // The client has asked in time: how long the server takes to answer (a cold webhook, a node
    // that has just started) is not the client's delay, so the unauthenticated timeout ends here,
    // not at the first result as in the reference (PROTOCOL §6.3).
    this.stopUnauthenticatedTimer();
    this.env.authenticate(authData, this.info).then(
      (result) => this.onAuthenticationResult(result),
      (error: unknown) => {
        this.env.log.error({ err: error, session: this.id }, 'authentication failed unexpectedly');
        this.onAuthenticationResult(undefined);
      },
    );
  }

  private dropAuthRequest(): void {
    if (this.warnedDroppedAuth) return;
    this.warnedDroppedAuth = true;
    this.warn('AUTH requests beyond maxAuthAttempts (pending ones included) are dropped', { maxAuthAttempts: this.env.options.maxAuthAttempts });
  }

  private rejectAuthData(fields: Partial<Message>): void {
    this.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE_DATA, ...fields });
    this.queuedAuth = undefined; // closing: what waited behind a pending check is not checked
    this.close();
  }

  private onAuthenticationResult(result: LoginResult | undefined): void {
    this.authInFlight = false;
    if (this.state !== SessionState.AwaitingAuthentication) return;
    const clientData = result?.clientData === undefined ? undefined : JSON.stringify(result.clientData);
    if (result?.isValid === true) {
      this.state = SessionState.Open;
      this.userId = result.id ?? 'OPEN';
      this.serverData = result.serverData;
      this.clientData = result.clientData;
      this.queuedAuth = undefined; // logged in: the guesses queued behind are moot
      this.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL, data: clientData });
      this.env.onOpen(this);
      this.connection.releaseHandshake?.();
      return;
    }
    this.failedAuthAttempts++;
    this.env.log.info({ session: this.id, remoteAddress: this.info.remoteAddress, attempt: this.failedAuthAttempts, retryAfter: result?.backoff?.retryAfter }, 'login refused');
    this.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL, data: clientData });
    if (this.failedAuthAttempts >= this.env.options.maxAuthAttempts) {
      this.send(TOO_MANY_AUTH_ATTEMPTS);
      setTimeout(() => this.close(), CLOSE_AFTER_LAST_ATTEMPT_MS).unref();
      return;
    }
    const next = this.queuedAuth?.shift();
    if (next !== undefined) this.checkLogin(next);
  }

  /** The cleared Timeout is let go: a logged-in connection should hold nothing it no longer needs. */
  private stopUnauthenticatedTimer(): void {
    clearTimeout(this.unauthenticatedTimer);
    this.unauthenticatedTimer = undefined;
  }

  /**
   * Timers run before the event loop reads sockets: after a stall (a node busy starting), a login
   * already received would lose to its own deadline. The verdict waits one turn, so that what
   * arrived is read first.
   */
  private onUnauthenticatedTimeout(): void {
    if (this.unauthenticatedTimer === undefined) return;
    setImmediate(() => {
      if (this.unauthenticatedTimer === undefined) return; // a login arrived meanwhile
      this.unauthenticatedTimer = undefined;
      this.timeOut();
    });
  }

  private timeOut(): void {
    if (this.state !== SessionState.AwaitingChallenge && this.state !== SessionState.AwaitingAuthentication) return;
    this.env.log.info({ session: this.id, remoteAddress: this.info.remoteAddress }, 'closing a connection that did not log in in time');
    this.send(AUTHENTICATION_TIMEOUT);
    this.close();
  }

  private dropSlowConsumer(): void {
    this.env.log.warn(
      { session: this.id, user: this.userId, bufferedBytes: this.connection.bufferedBytes, limit: this.env.options.outgoingBufferLimit },
      'disconnecting a slow consumer: its outgoing buffer is over the limit',
    );
    this.connection.terminate();
    this.closed();
  }

  warn(what: string, details: Record<string, unknown> = {}): void {
    this.env.log.warn({ session: this.id, user: this.userId, remoteAddress: this.info.remoteAddress, ...details }, what);
  }
}
