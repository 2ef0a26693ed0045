/**
 * The ceiling for event fan-out on this stack: a bare `ws` server speaking just enough of the v7
 * protocol for bench/compare.ts's event scenarios (CHALLENGE → ACCEPT, AUTH → AUTH_SUCCESSFUL, EVENT
 * SUBSCRIBE → ack, PING → PONG) that forwards each EMIT frame byte for byte to the other subscribers
 * of its name, corking each socket for the event-loop turn (one writev per socket per turn), as our
 * server batches; no session state, hooks, permissions, re-encoding or slow-consumer handling. With
 * `--bare` it does not cork: one ws.send, one socket write per delivery (compare.ts's `bare` server).
 *   node --conditions=source --import tsx bench/lib/ws-ceiling-server.ts <port> [--bare]
 */
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';

const port = Number(process.argv[2] ?? 6021);
const bare = process.argv.includes('--bare');
const ACCEPT = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
const PONG = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });
const AUTH_OK = binaryCodec.encode({ topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL });

const topics = new Map<string, Set<WebSocket>>();
let corked: Socket[] = [];
let scheduled = false;
const flush = () => {
  const sockets = corked;
  corked = [];
  scheduled = false;
  for (const socket of sockets) socket.uncork();
};

function out(ws: WebSocket, frame: Uint8Array): void {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  if (!bare && socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }
  ws.send(frame);
}

const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/deepstream', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const name of mine) topics.get(name)?.delete(ws);
  });
  ws.on('message', (data: Buffer) => {
    const m = binaryCodec.decode(data);
    if (m === undefined) return;
    if (m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name !== undefined) {
      const subscribers = topics.get(m.name);
      if (subscribers !== undefined) for (const s of subscribers) if (s !== ws && s.readyState === 1) out(s, data);
    } else if (m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.SUBSCRIBE) {
      for (const name of m.names ?? []) {
        let set = topics.get(name);
        if (set === undefined) topics.set(name, (set = new Set()));
        set.add(ws);
        mine.add(name);
      }
      out(ws, binaryCodec.encode({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, isAck: true, correlationId: m.correlationId }));
    } else if (m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.CHALLENGE) out(ws, ACCEPT);
    else if (m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PING) out(ws, PONG);
    else if (m.topic === TOPIC.AUTH && m.action === AUTH_ACTION.REQUEST) out(ws, AUTH_OK);
  });
});
http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
