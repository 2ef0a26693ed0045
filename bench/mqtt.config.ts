import { defineConfig } from '@deepstream-ts/core';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import mqtt from '@deepstream-ts/transport-mqtt';

/**
 * The server bench/mqtt.ts starts: open authentication, events, and the MQTT endpoint on
 * BENCH_MQTT_PORT (default 1883). By hand: `node core/bin/deepstream.js start --config bench/mqtt.config.ts`.
 */
export default defineConfig({
  port: 6020,
  plugins: [authOpen, events, mqtt.with({ port: Number(process.env.BENCH_MQTT_PORT ?? 1883) })],
});
