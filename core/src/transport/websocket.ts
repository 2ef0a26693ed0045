import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { binaryCodec, type Codec } from '../protocol/codec.ts';
import type { Session } from '../session/session.ts';
import type { Connection, ConnectionInfo, Transport } from './transport.ts';
import { WriteBatcher } from './write-batcher.ts';

export interface WebSocketTransportOptions {
  path: string;
  maxMessageSize: number;
  closeGracePeriod: number;
}

/** The v7 binary endpoint: binary frames at exactly `path` on the shared HTTP server (PROTOCOL §1). */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly batcher = new WriteBatcher();
  private accepting = false;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.upgrade(request, socket, head);

  constructor(
    private readonly server: Server,
    private readonly options: WebSocketTransportOptions,
    private readonly open: (connection: Connection) => Session,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageSize, perMessageDeflate: false, clientTracking: false });
  }

  async start(): Promise<void> {
    this.accepting = true;
    this.server.on('upgrade', this.onUpgrade);
  }

  async stop(): Promise<void> {
    this.accepting = false;
    this.server.off('upgrade', this.onUpgrade);
    if (this.sockets.size > 0) {
      const allClosed = new Promise<void>((resolve) => {
        for (const ws of this.sockets) ws.once('close', () => this.sockets.size === 0 && resolve());
      });
      for (const ws of this.sockets) ws.close();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.closeGracePeriod).unref());
      await Promise.race([allClosed, grace]);
      for (const ws of this.sockets) ws.terminate();
    }
    this.wss.close();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Exact path match, query strings included, as the reference server does; anything else is cut.
    if (!this.accepting || request.url !== this.options.path) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const forwarded = request.headers['x-forwarded-for'];
    const info: ConnectionInfo = {
      transport: this.name,
      remoteAddress: (Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? request.socket.remoteAddress ?? 'unknown',
      headers: request.headers,
    };
    const connection = new WebSocketConnection(ws, info, binaryCodec, this.batcher);
    this.sockets.add(ws);
    const session = this.open(connection);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return session.receive(data);
      session.warn('text frame on the binary endpoint; closing');
      ws.close();
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for oversized frames, 1002 for protocol errors).
      session.warn('websocket error; closing', { code: error.code, error: error.message });
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      session.closed();
    });
  }
}

interface WsInternals {
  _socket: Socket;
}

class WebSocketConnection implements Connection {
  private readonly socket: Socket;
  /** Bytes still queued from earlier turns when this turn's first frame was written. */
  private backlog = 0;

  constructor(
    private readonly ws: WebSocket,
    readonly info: ConnectionInfo,
    readonly codec: Codec,
    private readonly batcher: WriteBatcher,
  ) {
    // ws keeps the net.Socket private; we need it to cork writes for the batcher.
    this.socket = (ws as unknown as WsInternals)._socket;
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== 1) return;
    if (this.socket.writableCorked === 0) {
      this.backlog = this.ws.bufferedAmount;
      this.batcher.hold(this.socket);
    }
    this.ws.send(frame, { binary: true });
  }

  /**
   * What the client has not taken from earlier turns. Frames held back during this turn were never
   * offered to the peer yet, so a big burst to a fast reader does not count against it.
   */
  get bufferedBytes(): number {
    return this.socket.writableCorked > 0 ? this.backlog : this.ws.bufferedAmount;
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
