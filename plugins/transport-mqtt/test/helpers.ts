import { after, afterEach } from 'node:test';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { DeepstreamClient } from '@deepstream/client';
import { definePlugin, type DeepstreamConfig } from '@deepstream-ts/core';
import { startTestServer, type TestServer, until } from '@deepstream-ts/core/testing';
import { createConnection, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const closers: Array<() => unknown> = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

export interface MqttTestServer extends TestServer {
  mqttPort: number;
  mqttUrl: string;
}

/** A server (stopped when the file ends) with the MQTT endpoint's port read from its log. */
export async function server(config: DeepstreamConfig): Promise<MqttTestServer> {
  const s = await startTestServer(config);
  servers.push(s);
  const line = s.logs.find((l) => l.msg === 'MQTT endpoint listening');
  if (line === undefined) throw new Error('the MQTT endpoint did not say where it listens');
  const mqttPort = line.port as number;
  return Object.assign(s, { mqttPort, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` });
}

/** A logged-in official deepstream client, closed after the test. */
export async function deepstream(url: string, authData: Record<string, string> = {}): Promise<DeepstreamClient> {
  const c = new DeepstreamClient(url, { maxReconnectAttempts: 0 } as never);
  c.on('error', () => undefined);
  closers.push(() => c.close());
  await c.login(authData);
  return c;
}

/** A connected `mqtt` client (no reconnects), ended after the test. */
export async function mqttClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  c.on('error', () => undefined);
  closers.push(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** An `mqtt` client whose connection is refused: resolves with the error. */
export async function refusedConnect(url: string, options: IClientOptions = {}): Promise<Error & { code?: number }> {
  try {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    await c.endAsync(true);
  } catch (error) {
    return error as Error & { code?: number };
  }
  throw new Error('the connection was accepted');
}

/** The SUBACK codes of one SUBSCRIBE, refusals included (the client rejects when there is one). */
export async function subscribeCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    const granted = await c.subscribeAsync(filters);
    return granted.map((g) => g.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted === undefined) throw error;
    return packet.granted;
  }
}

/** Messages a client receives, as { topic, payload text, retain }. */
export function collect(c: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const seen: Array<{ topic: string; payload: string; retain: boolean }> = [];
  c.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString('utf8'), retain: packet.retain }));
  return seen;
}

export { until };

/** Logins: password "pw" for anyone; the username is the user id. */
export const passwordAuth = definePlugin({
  name: 'test-password-auth',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      const { username, password } = authData as { username?: unknown; password?: unknown };
      return password === 'pw' && typeof username === 'string' ? { isValid: true, id: username } : { isValid: false };
    });
  },
});

/** Why the mosquitto tests cannot run here, or false when they can (scripts/ensure-services.sh installs mosquitto-clients). */
export const noMosquitto: string | false =
  spawnSync('mosquitto_pub', ['--help']).error === undefined ? false : 'mosquitto_pub is not installed (Debian: apt-get install mosquitto-clients)';

/** Runs mosquitto_pub to completion. */
export function mosquittoPub(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 10000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stderr });
    });
  });
}

/** Starts mosquitto_sub; its lines are collected until it is killed after the test. */
export function mosquittoSub(args: string[]): { lines: string[]; process: ChildProcess } {
  const child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  closers.push(() => child.kill());
  return { lines, process: child };
}

/** An MQTT client packet by packet, on a plain socket: for exact replies and bad input. */
export class RawMqtt {
  readonly packets: mqttPacket.Packet[] = [];
  closed = false;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;

  private constructor(
    readonly socket: Socket,
    private readonly version: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: mqttPacket.Packet) => this.packets.push(p));
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    socket.on('close', () => void (this.closed = true));
    socket.on('error', () => undefined);
    closers.push(() => socket.destroy());
  }

  static async open(port: number, version: 4 | 5 = 4): Promise<RawMqtt> {
    const socket = createConnection({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawMqtt(socket, version);
  }

  /** Opens, sends CONNECT and waits for CONNACK. */
  static async connect(port: number, version: 4 | 5 = 4, connect: Partial<mqttPacket.IConnectPacket> = {}): Promise<RawMqtt> {
    const c = await RawMqtt.open(port, version);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: '', clean: true, keepalive: 0, ...connect } as mqttPacket.IConnectPacket);
    await c.next('connack');
    return c;
  }

  send(packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet of that kind (earlier ones of other kinds are skipped and kept). */
  async next<C extends mqttPacket.PacketCmd>(cmd: C, ms = 3000): Promise<Extract<mqttPacket.Packet, { cmd: C }>> {
    await until(() => this.packets.some((p) => p.cmd === cmd), `a ${cmd} packet`, ms);
    const index = this.packets.findIndex((p) => p.cmd === cmd);
    return this.packets.splice(index, 1)[0] as Extract<mqttPacket.Packet, { cmd: C }>;
  }

  async whenClosed(ms = 3000): Promise<void> {
    await until(() => this.closed, 'the server to close the connection', ms);
  }
}
