import type { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { clientAddress, type AuthorizationVerdict, type ConnectionInfo, type Message, type Session, type SharedMessage, type TlsMaterial, type Transport, type TransportHost } from '@deepstream-ts/core';
import { MqttConnection, type MqttEnvironment } from './connection.ts';
import { RC } from './reason-codes.ts';
import { TopicTree, invalidTopicName } from './topics.ts';

export interface MqttTransportOptions {
  port: number;
  host: string;
  maxPacketSize: number;
  connectTimeout: number;
  receiveMaximum: number;
  records: boolean;
  maxSessionExpiry: number;
  maxStoredSessions: number;
  closeGracePeriod: number;
  /** Listen with TLS (the server's key and certificate). */
  tls: TlsMaterial | undefined;
  /** MQTT over WebSocket on this path of the server's own port; undefined: none. */
  websocketPath: string | undefined;
  /** The server's `connection.trustProxy`, for WebSocket clients' addresses. */
  trustProxy: boolean;
  authorize(session: Session, message: Message, name: string): AuthorizationVerdict | Promise<AuthorizationVerdict>;
  /** Held while any wildcard filter exists: this node then receives every event of the cluster. */
  wantAllEvents?(): { release(): void };
}

/** How often keep-alives and CONNECT deadlines are checked: one timer for every connection. */
const SWEEP_MS = 1000;

/**
 * The MQTT listener on its own port. Each socket becomes an `MqttConnection` with a kernel session
 * (`host.open`); wildcard filters live here, in one tree, fed by the events plugin's `eventEmits`.
 */
export class MqttTransport implements Transport, MqttEnvironment {
  readonly name = 'mqtt';
  readonly maxPacketSize: number;
  readonly records: boolean;
  readonly receiveMaximum: number;
  readonly maxSessionExpiry: number;
  readonly log: TransportHost['log'];
  private readonly server: Server;
  private readonly connections = new Set<MqttConnection>();
  private readonly byClientId = new Map<string, MqttConnection>();
  /** Sessions whose connection ended, by client id, oldest first: their filters and when they expire. */
  private readonly stored = new Map<string, { filters: string[]; expiresAt: number }>();
  private readonly wildcards = new TopicTree<MqttConnection>();
  /** Other nodes' events reach wildcard filters only while this is held (cluster interest). */
  private wantingAll: { release(): void } | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly visit = (connection: MqttConnection) => connection.deliverWildcard(this.delivering!, this.deliveringName!, this.deliveringSender);
  private delivering: SharedMessage | undefined;
  private deliveringName: string | undefined;
  private deliveringSender: Session | undefined;

  constructor(
    private readonly host: TransportHost,
    private readonly options: MqttTransportOptions,
  ) {
    this.maxPacketSize = options.maxPacketSize;
    this.records = options.records;
    this.receiveMaximum = options.receiveMaximum;
    this.maxSessionExpiry = options.maxSessionExpiry;
    this.log = host.log;
    const accept = (socket: Socket) => this.accept(socket, { transport: 'mqtt', remoteAddress: socket.remoteAddress ?? 'unknown', headers: {} });
    this.server = options.tls === undefined ? createServer({ noDelay: true }, accept) : createTlsServer({ ...options.tls, noDelay: true }, accept);
  }

  /** The port actually listened on (for `port: 0`). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    const { websocketPath } = this.options;
    if (websocketPath !== undefined) this.listenOnWebSocket(websocketPath);
    this.host.log.info({ host: this.options.host, port: this.port, tls: this.options.tls !== undefined, websocketPath }, 'MQTT endpoint listening');
  }

  /** MQTT over WebSocket (subprotocol `mqtt`): the same connection over a stream of binary frames. */
  private listenOnWebSocket(path: string): void {
    // A whole packet may come in one frame, with a little room for the WebSocket framing.
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.maxPacketSize + 16,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
    this.host.upgrade(path, (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        const info: ConnectionInfo = { transport: 'mqtt-websocket', remoteAddress: clientAddress(request, this.options.trustProxy), headers: request.headers };
        this.accept(createWebSocketStream(ws), info);
      });
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.disconnect(RC.SERVER_SHUTTING_DOWN);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.closeGracePeriod).unref());
    await Promise.race([closed, grace]);
    for (const connection of this.connections) connection.terminate();
  }

  private accept(socket: Duplex, info: ConnectionInfo): void {
    const connection = new MqttConnection(socket, this, info);
    this.connections.add(connection);
    connection.start(this.host.open(connection));
  }

  /** An event delivered on this node: to every wildcard filter matching its name. */
  onEmit(emit: SharedMessage, sender: Session | undefined): void {
    if (this.wildcards.size === 0) return;
    const name = emit.message.name;
    if (name === undefined || invalidTopicName(name) !== undefined) return;
    this.delivering = emit;
    this.deliveringName = name;
    this.deliveringSender = sender;
    try {
      this.wildcards.match(name, this.visit);
    } finally {
      this.delivering = undefined;
      this.deliveringName = undefined;
      this.deliveringSender = undefined;
    }
  }

  /** Keep-alive (MQTT section 3.1.2.10: 1.5 × the client's interval) and the CONNECT deadline. */
  private sweep(): void {
    const now = Date.now();
    for (const [clientId, entry] of this.stored) if (entry.expiresAt <= now) this.stored.delete(clientId);
    for (const connection of this.connections) {
      if (!connection.isOpen) {
        if (connection.awaitingConnect && now - connection.openedAt > this.options.connectTimeout) {
          connection.protocolError(RC.MALFORMED_PACKET, `no CONNECT within connectTimeout (${this.options.connectTimeout} ms)`);
        }
        continue;
      }
      if (connection.keepAlive > 0 && now - connection.lastPacket > connection.keepAlive * 1500) {
        connection.protocolError(RC.KEEP_ALIVE_TIMEOUT, `silent for 1.5 × its keep-alive (${connection.keepAlive} s)`);
        continue;
      }
      // The MQTT keep-alive decides; the kernel's heartbeat sweep must not take a live client for a silent one.
      connection.session.lastSeen = now;
    }
  }

  authorize(session: Session, message: Message, name: string): AuthorizationVerdict | Promise<AuthorizationVerdict> {
    return this.options.authorize(session, message, name);
  }

  addFilter(filter: string, connection: MqttConnection): void {
    this.wildcards.add(filter, connection);
    if (this.wantingAll === undefined && this.wildcards.size > 0) this.wantingAll = this.options.wantAllEvents?.();
  }

  removeFilter(filter: string, connection: MqttConnection): void {
    this.wildcards.remove(filter, connection);
    if (this.wildcards.size > 0) return;
    this.wantingAll?.release();
    this.wantingAll = undefined;
  }

  claimClientId(clientId: string, connection: MqttConnection, cleanStart: boolean): string[] | undefined {
    const previous = this.byClientId.get(clientId);
    this.byClientId.set(clientId, connection);
    let filters: string[] | undefined;
    if (previous !== undefined && previous !== connection) {
      filters = previous.takeOver();
      previous.protocolError(RC.SESSION_TAKEN_OVER, 'another connection logged in with its client id');
    } else {
      const entry = this.stored.get(clientId);
      if (entry !== undefined && entry.expiresAt > Date.now()) filters = entry.filters;
    }
    this.stored.delete(clientId);
    return cleanStart ? undefined : filters;
  }

  storeSession(clientId: string, filters: string[], expiry: number): void {
    this.stored.delete(clientId);
    // Bounded: past maxStoredSessions the oldest session goes first.
    if (this.stored.size >= this.options.maxStoredSessions) this.stored.delete(this.stored.keys().next().value as string);
    this.stored.set(clientId, { filters, expiresAt: Date.now() + expiry * 1000 });
  }

  releaseClientId(clientId: string, connection: MqttConnection): void {
    if (this.byClientId.get(clientId) === connection) this.byClientId.delete(clientId);
  }

  closed(connection: MqttConnection): void {
    this.connections.delete(connection);
  }
}
