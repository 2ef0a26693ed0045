import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  TOPIC,
  binaryCodec,
  type Connection,
  type ConnectionInfo,
  type Message,
  type Session,
} from '@deepstream-ts/core';

/**
 * The link of one HTTP request into the kernel: no socket, frames handed over in memory. The
 * session behind it is a real one, so handshake, login, permissions and every feature plugin treat
 * an HTTP batch exactly as they treat a WebSocket client.
 */
export class HttpConnection implements Connection {
  readonly codec = binaryCodec;
  readonly bufferedBytes = 0;
  /** Every message the kernel sends this session. */
  onReply: (message: Message) => void = () => undefined;
  onClose: () => void = () => undefined;
  /** Set by the API's last `inbound` tap: the message being delivered got past every earlier tap. */
  passedInbound = false;
  /** Set when the kernel reported a plugin failure while a message of this connection was delivered. */
  failed = false;
  private closed = false;

  constructor(readonly info: ConnectionInfo) {}

  send(frame: Uint8Array): void {
    const message = binaryCodec.decode(frame);
    if (message !== undefined) this.onReply(message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  terminate(): void {
    this.close();
  }
}

/** Sessions of HTTP batches, told apart from client connections (they never count as logins). */
export function isHttpSession(session: Session): boolean {
  return session.connection instanceof HttpConnection;
}

/**
 * What became of a message handed to the session: handled (as far as the synchronous part goes),
 * dropped by an `inbound` tap (a rate limit), or failed in a plugin (the kernel logged it).
 */
export type Delivery = 'handled' | 'dropped' | 'failed';

/** The connection whose message is being delivered right now: delivery is synchronous. */
let delivering: HttpConnection | undefined;

/** For the `error` hook: a failure reported during a delivery belongs to that delivery. */
export function markDeliveryFailed(): void {
  if (delivering !== undefined) delivering.failed = true;
}

/** For the last `inbound` tap: the message got past every other tap. */
export function markPassedInbound(session: Session): void {
  if (session.connection instanceof HttpConnection) session.connection.passedInbound = true;
}

/** One HTTP request's session: logs in, carries the batch's messages, and is closed with the request. */
export class HttpSession {
  readonly connection: HttpConnection;
  readonly session: Session;

  /** `watchesInbound`: the API taps `inbound` last (only when something else taps it), so drops can be told. */
  constructor(
    open: (connection: Connection) => Session,
    info: ConnectionInfo,
    private readonly watchesInbound = false,
  ) {
    this.connection = new HttpConnection(info);
    this.session = open(this.connection);
    this.connection.onClose = () => this.session.closed();
  }

  /**
   * The v7 handshake, then AUTH REQUEST with `authData` through the authentication chain.
   * Resolves true once logged in; false when refused, or when the session closed first.
   */
  login(authData: object): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = this.connection.onClose;
      this.connection.onClose = () => {
        onClose();
        resolve(false);
      };
      this.connection.onReply = (reply) => {
        if (reply.topic === TOPIC.AUTH) resolve(reply.action === AUTH_ACTION.AUTH_SUCCESSFUL);
      };
      this.deliver({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
      this.deliver({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
    });
  }

  deliver(message: Message): Delivery {
    const { connection } = this;
    connection.passedInbound = false;
    connection.failed = false;
    const outer = delivering;
    delivering = connection;
    try {
      this.session.receive(binaryCodec.encode(message));
    } finally {
      delivering = outer;
      // The request has its own deadline: the heartbeat sweep must never take it for a silent socket.
      this.session.lastSeen = Number.POSITIVE_INFINITY;
    }
    if (connection.failed) return 'failed';
    return this.watchesInbound && !connection.passedInbound ? 'dropped' : 'handled';
  }

  close(): void {
    this.connection.close();
  }
}
