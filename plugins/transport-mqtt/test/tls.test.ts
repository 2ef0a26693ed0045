import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import mqtt from '../src/index.ts';
import { collect, mqttClient, server, until } from './helpers.ts';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('MQTT over TLS with the server\'s TLS settings', { skip: hasOpenssl() ? false : 'openssl is not installed' }, () => {
  it('mqtts:// with the server\'s certificate; plain MQTT on that port gets nowhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-tls-'));
    try {
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ], { stdio: 'ignore' });
      const s = await server({ tls: { key, cert }, plugins: [authOpen, events, mqtt.with({ port: 0 })] });
      const device = await mqttClient(`mqtts://127.0.0.1:${s.mqttPort}`, { ca: readFileSync(cert, 'utf8') });
      const seen = collect(device);
      await device.subscribeAsync('secure');
      const publisher = await mqttClient(`mqtts://127.0.0.1:${s.mqttPort}`, { ca: readFileSync(cert, 'utf8') });
      await publisher.publishAsync('secure', 'over tls', { qos: 1 });
      await until(() => seen.length === 1, 'the event over TLS');

      // A plain CONNECT on the TLS port is not MQTT to it.
      const plain = connect({ port: s.mqttPort, host: '127.0.0.1' });
      const closed = new Promise<void>((resolve) => plain.on('close', () => resolve()).on('error', () => undefined));
      plain.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]));
      await closed;
      assert.equal(seen[0]!.payload, 'over tls');
      assert.equal(s.kernel.sessions.authenticated, 2, 'the plain client never got a session logged in');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
