import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Codec } from '../protocol/codec.ts';
import type { Session } from '../session/session.ts';

/** Who is on the other end of a connection, as authentication strategies see it (SECURITY §1). */
export interface ConnectionInfo {
  /** The transport's name, e.g. `websocket`. */
  readonly transport: string;
  /** The socket's peer, or with `connection.trustProxy` the last `X-Forwarded-For` entry (see clientAddress). */
  readonly remoteAddress: string;
  /**
   * The upgrade request's headers, for authentication strategies and `authenticated` hooks. A
   * transport may empty them once the session has logged in (see `Connection.releaseHandshake`): the
   * WebSocket transport does, since every idle connection would keep a copy.
   */
  readonly headers: IncomingHttpHeaders;
  /**
   * A connection that lives for one request (the HTTP API): it logs in and sends messages like any
   * other, but is never "online" (presence ignores it) and holds nothing past the request.
   */
  readonly ephemeral?: boolean;
}

/**
 * One live client link, as a transport exposes it to the kernel. The kernel never touches the
 * socket: it hands encoded frames to `send` and asks to close.
 */
export interface Connection {
  readonly info: ConnectionInfo;
  readonly codec: Codec;
  /** Queue one frame. Frames leave in order; a transport may batch them into one system call. */
  send(frame: Uint8Array): void;
  /** Bytes queued but not yet handed to the operating system. */
  readonly bufferedBytes: number;
  /** Close cleanly once queued frames are flushed. */
  close(): void;
  /** Drop the link now, without a goodbye (slow consumers, dead peers). */
  terminate(): void;
  /**
   * The session has logged in and its `authenticated` hooks ran: what only login needed (the
   * upgrade request's headers) may be let go.
   */
  releaseHandshake?(): void;
}

/**
 * A way for clients to reach the kernel (WebSocket today; HTTP, MQTT or the legacy text protocol
 * later). A transport turns its peers into `Connection`s and feeds their frames to the session the
 * kernel returns.
 */
export interface Transport {
  readonly name: string;
  start(): Promise<void>;
  /** Stop accepting, close every connection, resolve once they are gone (or the grace period ends). */
  stop(): Promise<void>;
}

/** Takes over one HTTP upgrade request (a WebSocket handshake) on the shared server. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What the kernel gives a transport: the shared HTTP server and the door into a session. */
export interface TransportHost {
  /** The server on the configured host and port (for routes); a transport may also open its own listener. */
  readonly server: Server;
  /**
   * Upgrades to exactly `path` (query string included) go to `handler`; the kernel cuts upgrades to
   * any path nobody took, and all of them once stopping. A path taken twice is refused
   * (`DS_TOPIC_ALREADY_CLAIMED`).
   */
  upgrade(path: string, handler: UpgradeHandler): void;
  /** Turns a new connection into a session; feed it frames with `receive`, and call `closed` when it ends. */
  open(connection: Connection): Session;
  readonly log: Logger;
}

export type TransportFactory = (host: TransportHost) => Transport;
