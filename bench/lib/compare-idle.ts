/**
 * Idle connections for bench/compare.ts: N raw connections, each through the real handshake and
 * login (CHALLENGE → ACCEPT, AUTH REQUEST {} → AUTH_SUCCESSFUL), then silent but for a protocol
 * PING every 20 s (well inside both servers' heartbeat limit). argv: url count
 */
import type { WebSocket } from 'ws';
import { connectInBatches, keepAlive, login } from './raw-client.ts';
import { resetSocket } from './seq-payload.ts';
import type { FromIdle, ToIdle } from './compare-ipc.ts';

const [url, countArg] = process.argv.slice(2) as [string, string];
const count = Number(countArg);
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
  await connectInBatches(count, async () => {
    const ws = await login(url);
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!stopping) send({ type: 'error', message: 'an idle connection was closed by the server' });
    });
    sockets.push(ws);
  });
  keepAlive(sockets.map((ws) => ({ ws })));
  send({ type: 'ready', connections: sockets.length });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}
