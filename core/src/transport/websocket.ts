import { clientAddress } from './client-address.ts';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { binaryCodec, type Codec } from '../protocol/codec.ts';
import type { Session } from '../session/session.ts';
import type { Connection, ConnectionInfo, Transport, TransportHost } from './transport.ts';
import { WriteBatcher } from './write-batcher.ts';

export interface WebSocketTransportOptions {
  path: string;
  maxMessageSize: number;
  closeGracePeriod: number;
  trustProxy: boolean;
  /** Milliseconds frames may be held to share a socket write (0: until the end of the turn). */
  writeDelay: number;
}

/** The v7 binary endpoint: binary frames at exactly `path` on the shared HTTP server (PROTOCOL §1). */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly batcher: WriteBatcher;
  private accepting = false;

  constructor(
    private readonly host: Pick<TransportHost, 'upgrade'>,
    private readonly options: WebSocketTransportOptions,
    private readonly open: (connection: Connection) => Session,
    private readonly log: Logger,
  ) {
    this.batcher = new WriteBatcher(options.writeDelay);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageSize, perMessageDeflate: false, clientTracking: false, WebSocket: ServerSocket });
  }

  async start(): Promise<void> {
    this.accepting = true;
    this.host.upgrade(this.options.path, (request, socket, head) => this.upgrade(request, socket, head));
  }

  async stop(): Promise<void> {
    this.accepting = false;
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
    // The kernel matched the path exactly, query strings included, as the reference server does.
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const info: HandshakeInfo = {
      transport: this.name,
      remoteAddress: clientAddress(request, this.options.trustProxy),
      headers: request.headers,
    };
    const connection = new WebSocketConnection(ws, info, binaryCodec, this.batcher, this.sockets);
    this.sockets.add(ws);
    connection.session = this.open(connection);
    // Shared listeners (ws calls them with `this` = the socket): no closures kept per connection.
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
  }
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const session = (this as PatchedWebSocket)[kConnection].session;
  if (isBinary) return void session.receive(data);
  session.warn('text frame on the binary endpoint; closing');
  this.close();
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws closes the socket itself (1009 for oversized frames, 1002 for protocol errors).
  (this as PatchedWebSocket)[kConnection].session.warn('websocket error; closing', { code: error.code, error: error.message });
}

function onClose(this: WebSocket): void {
  const connection = (this as PatchedWebSocket)[kConnection];
  connection.sockets.delete(this);
  connection.session.closed();
}

interface WsInternals {
  _socket: Socket;
}

const OPEN = 1;
/** A turn's frames up to this many bytes in all are copied into one buffer (one write, one system call). */
const RUN_LIMIT = 256 * 1024;
/** Past RUN_LIMIT, frames at least this long are written as they are (header + frame, no copy), the rest copied in runs of up to RUN_LIMIT. */
const COPY_LIMIT = 16 * 1024;
const kConnection = Symbol('deepstream-ts connection');
/** A connection's info as the transport holds it: the headers go once the session has logged in. */
type HandshakeInfo = { -readonly [K in keyof ConnectionInfo]: ConnectionInfo[K] };
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
type PatchedWebSocket = WebSocket & { [kConnection]: WebSocketConnection };

/**
 * The sockets ws makes for us (its `WebSocket` server option). ws writes its close frame straight
 * to the socket, on our `close()` and on its own (a close frame or a protocol error from the
 * client): frames queued earlier in the turn must leave first, as they would have if each had
 * been written at once. A method on the class, not on each socket: nothing kept per connection.
 */
class ServerSocket extends WebSocket {
  override close(code?: number, reason?: string | Buffer): void {
    (this as unknown as PatchedWebSocket)[kConnection]?.flush();
    super.close(code, reason);
  }
}

/** Bytes of the WebSocket header of an unmasked frame with `length` bytes of payload (RFC 6455 §5.2). */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes the header of a final, unmasked, binary frame (opcode 2) at `at`; returns where the payload goes. */
function writeHeader(out: Buffer, at: number, length: number): number {
  out[at] = 0x82;
  if (length < 126) {
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 65536) {
    out[at + 1] = 126;
    out.writeUInt16BE(length, at + 2);
    return at + 4;
  }
  out[at + 1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
  out.writeUInt32BE(length >>> 0, at + 6);
  return at + 10;
}

/**
 * One client socket. Frames sent during an event-loop turn are queued here and written after the
 * turn as WebSocket frames we build ourselves, small ones copied into one buffer: one system call
 * and one stream write per socket per turn, whatever the number of frames, and nothing allocated
 * per frame. This bypasses ws's sender for data frames, which is safe because its queue is always
 * empty here: it only queues while compressing (permessage-deflate is off) or reading a Blob (we
 * never send one), so nothing ws writes can be overtaken by, or overtake, our frames — but for
 * pongs to client pings (control frames may come between data frames) and the close frame, which
 * `ServerSocket.close` lets go only after the queue.
 */
class WebSocketConnection implements Connection {
  private readonly socket: Socket;
  /**
   * Frames queued this turn and their size with headers: the first in `single`, and only once a
   * second comes all of them in `queue` (entries past `queued` are stale). Most turns of most
   * connections carry one frame, and an idle connection then keeps no array.
   */
  private single: Uint8Array | undefined;
  private queue: Uint8Array[] | undefined;
  private queued = 0;
  private queuedBytes = 0;
  /** Bytes still buffered from earlier turns when this turn's first frame was queued. */
  private backlog = 0;
  /** The kernel's session for this socket, set right after construction. */
  session!: Session;

  constructor(
    private readonly ws: WebSocket,
    readonly info: HandshakeInfo,
    readonly codec: Codec,
    private readonly batcher: WriteBatcher,
    /** The transport's open sockets, which this one leaves on close. */
    readonly sockets: Set<WebSocket>,
  ) {
    // ws keeps the net.Socket private; we write our frames to it.
    this.socket = (ws as unknown as WsInternals)._socket;
    (ws as PatchedWebSocket)[kConnection] = this;
  }

  /** Login is over: the headers (a few hundred bytes with their strings) are not kept per idle connection. */
  releaseHandshake(): void {
    this.info.headers = NO_HEADERS;
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== OPEN) return;
    if (this.queued === 0) {
      this.backlog = this.ws.bufferedAmount;
      this.batcher.hold(this);
      this.single = frame;
    } else {
      const queue = (this.queue ??= []);
      if (this.queued === 1) queue[0] = this.single as Uint8Array;
      queue[this.queued] = frame;
    }
    this.queued++;
    this.queuedBytes += headerLength(frame.byteLength) + frame.byteLength;
  }

  /**
   * What the client has not taken from earlier turns. Frames held back during this turn were never
   * offered to the peer yet, so a big burst to a fast reader does not count against it.
   */
  get bufferedBytes(): number {
    return this.queued > 0 ? this.backlog : this.ws.bufferedAmount;
  }

  /** Writes the queued frames (the batcher calls this after the turn; close calls it first). */
  flush(): void {
    const count = this.queued;
    if (count === 0) return;
    const single = this.single as Uint8Array;
    this.single = undefined;
    const bytes = this.queuedBytes;
    this.queued = 0;
    this.queuedBytes = 0;
    const socket = this.socket;
    if (this.ws.readyState !== OPEN || socket.destroyed) {
      if (count > 1) (this.queue as Uint8Array[]).length = 0; // closed meanwhile: ws drops what is sent after close, and so do we
      return;
    }
    if (count === 1) {
      if (single.byteLength >= COPY_LIMIT) this.writeLarge(single);
      else socket.write(this.copyOne(single, bytes));
      return;
    }
    const queue = this.queue as Uint8Array[];
    if (bytes <= RUN_LIMIT) {
      socket.write(this.copy(queue, 0, count, bytes));
    } else {
      // Much data: runs of small frames copied together (up to RUN_LIMIT each), large frames
      // written as they are, all in one writev.
      socket.cork();
      let runStart = 0;
      let runBytes = 0;
      for (let i = 0; i < count; i++) {
        const length = (queue[i] as Uint8Array).byteLength;
        if (length < COPY_LIMIT) {
          const size = headerLength(length) + length;
          if (runBytes + size > RUN_LIMIT && runBytes > 0) {
            socket.write(this.copy(queue, runStart, i, runBytes));
            runStart = i;
            runBytes = 0;
          }
          runBytes += size;
          continue;
        }
        if (runBytes > 0) socket.write(this.copy(queue, runStart, i, runBytes));
        this.writeLarge(queue[i] as Uint8Array);
        runStart = i + 1;
        runBytes = 0;
      }
      if (runBytes > 0) socket.write(this.copy(queue, runStart, count, runBytes));
      socket.uncork();
    }
    // Drop the references, keep the array: a busy connection reuses it every turn.
    if (queue.length > 64) this.queue = undefined;
    else queue.fill(undefined as unknown as Uint8Array, 0, count);
  }

  /** `frame`, framed, in a new buffer of `bytes` bytes. */
  private copyOne(frame: Uint8Array, bytes: number): Buffer {
    const out = Buffer.allocUnsafe(bytes);
    out.set(frame, writeHeader(out, 0, frame.byteLength));
    return out;
  }

  /** Frames `from`..`to` (exclusive) of `queue`, framed, in one new buffer of `bytes` bytes. */
  private copy(queue: Uint8Array[], from: number, to: number, bytes: number): Buffer {
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = from; i < to; i++) {
      const frame = queue[i] as Uint8Array;
      at = writeHeader(out, at, frame.byteLength);
      out.set(frame, at);
      at += frame.byteLength;
    }
    return out;
  }

  private writeLarge(frame: Uint8Array): void {
    const header = Buffer.allocUnsafe(headerLength(frame.byteLength));
    writeHeader(header, 0, frame.byteLength);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(frame);
    this.socket.uncork();
  }

  close(): void {
    this.ws.close(); // ServerSocket.close: queued frames first
  }

  terminate(): void {
    this.ws.terminate();
  }
}
