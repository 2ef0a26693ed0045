/**
 * RPC benchmark provider: one raw connection that provides 'bench' and answers every REQUEST at
 * once with ACCEPT (unless told not to) and a RESPONSE echoing the arguments, as an official
 * client provider calling `response.send(data)` would. argv: url accept(1|0)
 */
import { RPC_ACTION, TOPIC, binaryCodec } from '@deepstream-ts/core';
import { frameKind, login, request, socketOf } from './raw-client.ts';
import type { FromProvider, ToProvider } from './rpc-ipc.ts';

const [url, acceptArg] = process.argv.slice(2);
const sendsAccept = acceptArg !== '0';
const REQUEST_KIND = TOPIC.RPC * 256 + RPC_ACTION.REQUEST;
const send = (message: FromProvider) => process.send?.(message);

let answered = 0;
let corked = false;

try {
  const ws = await login(url as string);
  await request(
    ws,
    { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: ['bench'], correlationId: 'p' },
    (m) => m.topic === TOPIC.RPC && m.action === RPC_ACTION.PROVIDE && m.isAck === true,
    'RPC PROVIDE ack',
  );
  const socket = socketOf(ws);
  ws.on('error', () => {});
  ws.on('close', () => send({ type: 'error', message: 'provider connection closed by the server' }));
  ws.on('message', (data: Buffer) => {
    if (frameKind(data) !== REQUEST_KIND) return;
    const call = binaryCodec.decode(data);
    if (call === undefined) return;
    // Everything answered in one event-loop turn leaves in one writev.
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    const reply = { topic: TOPIC.RPC, name: call.name, correlationId: call.correlationId };
    if (sendsAccept) ws.send(binaryCodec.encode({ ...reply, action: RPC_ACTION.ACCEPT }));
    ws.send(binaryCodec.encode({ ...reply, action: RPC_ACTION.RESPONSE, data: call.data }));
    answered++;
  });
  process.on('message', (message: ToProvider) => {
    if (message.type !== 'stop') return;
    send({ type: 'answered', count: answered });
    ws.terminate();
    setTimeout(() => process.exit(0), 50);
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
