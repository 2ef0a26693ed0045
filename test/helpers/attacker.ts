/**
 * A hostile connection for the fuzz test: a plain WebSocket that gets as far as asked through the
 * handshake, then sends whatever frames it is given without waiting for answers. It never throws
 * on what the server sends; it counts replies and keeps any frame that does not decode (a server
 * bug: everything the server sends must be a valid message).
 */
import { WebSocket } from 'ws';
import { AUTH_ACTION, CONNECTION_ACTION, TOPIC, binaryCodec, type Message } from '@deepstream-ts/core';
import type { Frame, Stage } from './fuzz-frames.ts';

/** ms the server gets to answer each handshake step; longer means it is stalled. */
const HANDSHAKE_TIMEOUT = 2000;

export class Attacker {
  received = 0;
  readonly undecodable: Uint8Array[] = [];
  readonly closed: Promise<number>;
  private waiter: { match: (m: Message) => boolean; resolve: () => void } | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('error', () => undefined); // resets are expected; `closed` reports the end
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.received++;
      const message = isBinary ? binaryCodec.decode(data) : undefined;
      if (message === undefined) {
        this.undecodable.push(Uint8Array.from(data));
        return;
      }
      if (this.waiter?.match(message) === true) this.waiter.resolve();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  /** Connects and goes through the handshake up to `stage`; a refused login still counts as reached. */
  static async open(url: string, stage: Stage, username: string): Promise<Attacker> {
    const ws = new WebSocket(url);
    const attacker = new Attacker(ws);
    await new Promise<void>((resolve, reject) => {
      // A stalled server accepts the TCP connection but never answers the upgrade.
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`the server did not accept a WebSocket within ${HANDSHAKE_TIMEOUT} ms`));
      }, HANDSHAKE_TIMEOUT);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    if (stage === 'open') return attacker;
    attacker.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url, protocolVersion: '0.1a', sdkVersion: 'fuzz', sdkType: 'fuzz' });
    await attacker.until((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT, 'the challenge is accepted');
    if (stage === 'challenged') return attacker;
    attacker.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username }) });
    await attacker.until((m) => m.topic === TOPIC.AUTH, 'a login result');
    return attacker;
  }

  private until(match: (m: Message) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not send ${what} within ${HANDSHAKE_TIMEOUT} ms`)), HANDSHAKE_TIMEOUT);
      this.waiter = {
        match,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        },
      };
    });
  }

  send(message: Message): void {
    this.ws.send(binaryCodec.encode(message));
  }

  sendFrame(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return; // the server closed it (e.g. a frame over maxMessageSize)
    this.ws.send(frame.kind === 'binary' ? frame.bytes : frame.text);
  }

  /** Sends a close frame; `terminate` instead cuts the TCP connection without one. */
  close(terminate = false): void {
    if (terminate) this.ws.terminate();
    else this.ws.close();
  }
}
