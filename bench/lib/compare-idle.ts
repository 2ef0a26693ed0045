/**
 * Idle connections for bench/compare.ts: N raw connections, each through the real handshake and
 * login (CHALLENGE → ACCEPT, AUTH REQUEST {} → AUTH_SUCCESSFUL), then silent but for a protocol
 * PING every 20 s (well inside both servers' heartbeat limit). argv: url count
 */
import type { WebSocket } from 'ws';
import { CONNECTION_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { login } from './raw-client.ts';
import { resetSocket } from './seq-payload.ts';
import type { FromIdle, ToIdle } from './compare-ipc.ts';

const [url, countArg] = process.argv.slice(2) as [string, string];
const count = Number(countArg);
const CONNECT_CONCURRENCY = 50;
const send = (message: FromIdle) => process.send?.(message);
const sockets: WebSocket[] = [];
let stopping = false;

function stop(): void {
  stopping = true;
  for (const ws of sockets) resetSocket(ws); // RST: no TIME_WAIT left behind
  process.exit(0);
}
process.on('message', (message: ToIdle) => message.type === 'stop' && stop());
process.on('disconnect', stop);

try {
  for (let opened = 0; opened < count; opened += CONNECT_CONCURRENCY) {
    const batch = await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - opened) }, () => login(url)));
    for (const ws of batch) {
      ws.on('error', () => {});
      ws.on('close', () => {
        if (!stopping) send({ type: 'error', message: 'an idle connection was closed by the server' });
      });
      sockets.push(ws);
    }
  }
  const ping = binaryCodec.encode({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  setInterval(() => {
    for (const ws of sockets) ws.send(ping);
  }, 20_000).unref();
  send({ type: 'ready', connections: sockets.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
