import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  RPC_ACTION,
  TOPIC,
  binaryCodec,
  type Connection,
  type ConnectionInfo,
  type Logger,
  type Message,
  type Session,
} from '@deepstream-ts/core';

export type RpcAnswer = (data: unknown) => unknown;

/**
 * The console's own client inside the server: an in-memory connection with a real session, logged
 * in (the console's authentication tap recognises its info object), that provides the console's
 * RPCs and emits its figures through the RPC and events plugins like any client would. So the page
 * reaches every node through the normal cluster paths, and permissions see ordinary messages.
 */
export class Agent implements Connection {
  readonly info: ConnectionInfo = Object.freeze({ transport: 'console', remoteAddress: 'console', headers: Object.freeze({}), ephemeral: true });
  readonly codec = binaryCodec;
  readonly bufferedBytes = 0;
  private session: Session | undefined;
  private readonly answers = new Map<string, RpcAnswer>();
  private loggedIn: ((ok: boolean) => void) | undefined;

  constructor(private readonly log: Logger) {}

  /** An RPC this agent will provide once started. */
  answer(name: string, answer: RpcAnswer): void {
    this.answers.set(name, answer);
  }

  /** Opens the session, logs in and provides the RPCs; rejects when the login is refused. */
  async start(open: (connection: Connection) => Session): Promise<void> {
    this.session = open(this);
    const ok = new Promise<boolean>((resolve) => (this.loggedIn = resolve));
    this.deliver({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    this.deliver({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' });
    if (!(await ok)) throw new Error('the console agent could not log in');
    this.deliver({ topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: [...this.answers.keys()], correlationId: 'console-provide' });
  }

  emit(name: string, data: unknown): void {
    if (this.session?.isAuthenticated === true) this.deliver({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: JSON.stringify(data) });
  }

  /** Frames the kernel sends this session. */
  send(frame: Uint8Array): void {
    const message = binaryCodec.decode(frame);
    if (message === undefined) return;
    if (message.topic === TOPIC.AUTH) this.loggedIn?.(message.action === AUTH_ACTION.AUTH_SUCCESSFUL);
    else if (message.topic === TOPIC.RPC && message.action === RPC_ACTION.REQUEST) void this.serve(message);
    else if (message.isError === true || message.action === RPC_ACTION.MESSAGE_DENIED) this.log.warn({ topic: message.topic, action: message.action, name: message.name }, 'the console agent was refused');
  }

  close(): void {
    this.session?.closed();
  }

  terminate(): void {
    this.close();
  }

  private async serve(request: Message): Promise<void> {
    const { name, correlationId } = request;
    const answer = name === undefined ? undefined : this.answers.get(name);
    if (answer === undefined || correlationId === undefined) return;
    const reply = (action: RPC_ACTION, data: unknown) => this.deliver({ topic: TOPIC.RPC, action, name, correlationId, data: JSON.stringify(data) });
    this.deliver({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name, correlationId });
    try {
      const data = request.data === undefined ? undefined : JSON.parse(request.data);
      reply(RPC_ACTION.RESPONSE, (await answer(data)) ?? null);
    } catch (error) {
      reply(RPC_ACTION.REQUEST_ERROR, error instanceof Error ? error.message : String(error));
    }
  }

  private deliver(message: Message): void {
    const session = this.session;
    if (session === undefined || session.isClosed) return;
    session.receive(binaryCodec.encode(message));
    // An in-process link is never silent: the heartbeat sweep must not take it for a dead socket.
    session.lastSeen = Number.POSITIVE_INFINITY;
  }
}
