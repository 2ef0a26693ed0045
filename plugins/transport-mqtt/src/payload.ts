/**
 * MQTT payloads ⇄ deepstream data (JSON text). Inbound: a payload that parses as JSON is carried as
 * it is; any other payload becomes a JSON string of its UTF-8 text; an empty payload is an event
 * without data. Outbound: a JSON string value goes out as its bare text, anything else as its JSON
 * text, no data as an empty payload. So `hello` and `{"t":21}` arrive as they were sent, both ways.
 */

/** The deepstream `data` for an MQTT payload; undefined for an empty one. */
export function dataOf(payload: Buffer): string | undefined {
  if (payload.length === 0) return undefined;
  const text = payload.toString('utf8');
  return parses(text) ? text : JSON.stringify(text);
}

/** The MQTT payload for deepstream `data`. */
export function payloadOf(data: string | undefined): Buffer {
  if (data === undefined || data.length === 0) return EMPTY;
  if (data.charCodeAt(0) === QUOTE) {
    try {
      const value: unknown = JSON.parse(data);
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
    } catch {
      // not JSON after all: sent as it is
    }
  }
  return Buffer.from(data, 'utf8');
}

/** Whether a payload can be a record's whole data: a JSON object or array. */
export function isRecordData(text: string): boolean {
  const c = text.trimStart().charCodeAt(0);
  return (c === BRACE || c === BRACKET) && parses(text);
}

function parses(text: string): boolean {
  const c = text.charCodeAt(0);
  // Most text payloads fail at the first character; JSON.parse (and its exception) only when it may succeed.
  if (!(c === QUOTE || c === BRACE || c === BRACKET || c === MINUS || (c >= ZERO && c <= NINE) || c === T || c === F || c === N || c <= SPACE)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const EMPTY = Buffer.alloc(0);
const QUOTE = 34;
const BRACE = 123;
const BRACKET = 91;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const T = 116;
const F = 102;
const N = 110;
const SPACE = 32;
