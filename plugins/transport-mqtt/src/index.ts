import { definePlugin } from '@deepstream-ts/core';
import type {} from '@deepstream-ts/plugin-events'; // the `eventEmits` service's type
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
  needs: { eventEmits: 'required' },
  options: MQTT_OPTIONS,
  setup(ctx) {
    const { options, config } = ctx;
    let transport: MqttTransport | undefined;
    ctx.addTransport((host) => {
      transport = new MqttTransport(host, {
        port: options.port,
        host: options.host ?? config.host,
        maxPacketSize: options.maxPacketSize ?? config.connection.maxMessageSize,
        connectTimeout: options.connectTimeout,
        receiveMaximum: options.receiveMaximum,
        records: options.records,
        closeGracePeriod: config.connection.closeGracePeriod,
        authorize: (session, message, name) => ctx.authorize(session, message, name),
      });
      return transport;
    });
    ctx.onClose(ctx.use('eventEmits').observe((emit) => transport?.onEmit(emit)));
  },
});

export default mqtt;
export { MqttTransport };
