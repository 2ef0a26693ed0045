import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * The load balancer in front of a test cluster: each connection goes to the first backend that
 * accepts it, in the given order, so that a client whose node died reconnects to the next one.
 * With `roundRobin`, each connection starts one backend further along (then fails over the same
 * way). Bytes are piped untouched (WebSocket upgrades included).
 */
export class TcpBalancer {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private turn = 0;

  constructor(
    private readonly backends: number[],
    { roundRobin = false }: { roundRobin?: boolean } = {},
  ) {
    this.server = createServer((client) => {
      this.track(client);
      client.pause(); // hold the client's first bytes until a backend is connected
      client.on('error', () => client.destroy());
      this.connect(client, roundRobin ? this.turn++ % backends.length : 0, 0);
    });
  }

  /** The port clients connect to, once listening. */
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${(this.server.address() as { port: number }).port}/deepstream`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Tries backends from `start` on, wrapping round; `tried` of them have refused already. */
  private connect(client: Socket, start: number, tried: number): void {
    const port = tried < this.backends.length ? this.backends[(start + tried) % this.backends.length] : undefined;
    if (port === undefined || client.destroyed) return void client.destroy();
    const upstream = this.track(createConnection({ port, host: '127.0.0.1' }));
    let connected = false;
    upstream.on('error', () => (connected ? client.destroy() : this.connect(client, start, tried + 1)));
    upstream.once('connect', () => {
      connected = true;
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}
