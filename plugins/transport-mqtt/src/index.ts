import { definePlugin, loadTlsMaterial } from '@deepstream-ts/core';
import type {} from '@deepstream-ts/plugin-events'; // the `eventEmits` service's type
import type {} from '@deepstream-ts/plugin-records'; // the `records` service's type
import { MQTT_OPTIONS, type MqttOptions } from './options.ts';
import { MqttTransport } from './transport.ts';

export type { MqttOptions } from './options.ts';

/**
 * An MQTT 3.1.1 and 5 endpoint on its own port, through the kernel's transport interface: devices
 * publish and subscribe next to deepstream clients, with the same logins and permissions.
 */
export const mqtt = definePlugin<MqttOptions>({
  package: import.meta.url,
  // Wildcard filters are fed every delivered event; exact ones subscribe like any client.
  // Retained messages are records only when the records plugin is there.
  needs: { eventEmits: 'required', records: 'optional' },
  options: MQTT_OPTIONS,
  setup(ctx) {
    const { options, config } = ctx;
    // Read now, so that a start with a TLS problem fails in setup, naming the setting.
    const tls = options.tls && config.tls !== undefined ? loadTlsMaterial(config.tls, config.baseDir) : undefined;
    let transport: MqttTransport | undefined;
    const emits = ctx.use('eventEmits');
    ctx.addTransport((host) => {
      transport = new MqttTransport(host, {
        port: options.port,
        host: options.host ?? config.host,
        maxPacketSize: options.maxPacketSize ?? config.connection.maxMessageSize,
        connectTimeout: options.connectTimeout,
        receiveMaximum: options.receiveMaximum,
        maxSessionExpiry: options.maxStoredSessions === 0 ? 0 : options.sessionExpiry,
        maxStoredSessions: options.maxStoredSessions,
        records: options.records && ctx.find('records') !== undefined,
        closeGracePeriod: config.connection.closeGracePeriod,
        tls,
        websocketPath: options.websocketPath,
        trustProxy: config.connection.trustProxy,
        // Asked exactly as the router asks a subscription to that name.
        authorize: (session, message) => ctx.admit(session, message),
        wantAllEvents: () => emits.wantAll(),
      });
      return transport;
    });
    ctx.onClose(emits.observe((emit, sender) => transport?.onEmit(emit, sender)));
  },
});

export default mqtt;
export { MqttTransport };
