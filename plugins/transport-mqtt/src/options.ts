import { Type, type Static } from '@deepstream-ts/core';

/** The MQTT endpoint's options, with their defaults; `MqttOptions` is typed from it. */
export const MQTT_OPTIONS = Type.Object({
  /** TCP port of the MQTT listener (1883 is MQTT's registered port; 0 picks a free one). */
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
  /** Interface to listen on; default: the server's `host`. */
  host: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest packet accepted, in bytes; default: the server's `connection.maxMessageSize`. */
  maxPacketSize: Type.Optional(Type.Integer({ minimum: 64, maximum: 268435455 })),
  /** Milliseconds a new connection has to send CONNECT. */
  connectTimeout: Type.Integer({ minimum: 1, default: 10000 }),
  /** QoS 1 and 2 publishes a client may have unacknowledged at once (MQTT 5 Receive Maximum; MQTT 3.1.1 clients are held to it too). */
  receiveMaximum: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),
  /** MQTT over WebSocket on this path of the server's own port (e.g. `/mqtt`; TLS when the server has it); unset: none. */
  websocketPath: Type.Optional(Type.String({ pattern: '^/', expected: 'a path starting with "/"' })),
  /** With the server's `tls` settings set, MQTT is over TLS too (mqtts://, same key and certificate); false keeps it plain. */
  tls: Type.Boolean({ default: true }),
  /**
   * Seconds a session (its subscriptions) is kept after its connection ends, at most: MQTT 3.1.1
   * clients with Clean Session 0 get this, MQTT 5 clients what they ask up to this; 0 makes every
   * session clean. Kept on this node, in memory.
   */
  sessionExpiry: Type.Integer({ minimum: 0, default: 3600 }),
  /** Sessions kept for clients that are gone, at most; past it the oldest is dropped. */
  maxStoredSessions: Type.Integer({ minimum: 0, default: 10000 }),
  /** Bridge to records: retained PUBLISH writes (or deletes) the record of the topic, exact subscriptions follow it. */
  records: Type.Boolean({ default: true }),
});

export type MqttOptions = Static<typeof MQTT_OPTIONS>;
