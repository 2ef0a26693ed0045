/**
 * The deepstream v7 message model, re-exported from `@deepstream/protobuf` so that plugins import
 * every protocol name from the kernel and never depend on the wire package directly.
 */
export {
  TOPIC,
  CONNECTION_ACTION,
  AUTH_ACTION,
  PARSER_ACTION,
  EVENT_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  PRESENCE_ACTION,
  MONITORING_ACTION,
  CLUSTER_ACTION,
  LOCK_ACTION,
  STATE_ACTION,
} from '@deepstream/protobuf/dist/types/all.js';
export type { JSONValue, JSONObject } from '@deepstream/protobuf/dist/types/all.js';

import type { Message as WireMessage } from '@deepstream/protobuf/dist/types/messages.js';

/**
 * One decoded deepstream message. A field absent on the wire is `undefined` here, never its
 * protobuf default (PROTOCOL §2.4): `version: 0` and "no version" are different things.
 */
export interface Message extends Omit<WireMessage, 'data' | 'parsedData' | 'parseError'> {
  /** JSON text, relayed byte-for-byte for events and RPC payloads. */
  data?: string;
  /** RPC only: the caller's clientData as JSON text. */
  requestorName?: string;
  requestorData?: string;
}
