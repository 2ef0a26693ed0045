import { HttpRefusal } from './http-io.ts';

/** A message POST's body (HTTP_AND_CONFIG §2.1), checked; its `body` elements are not checked yet. */
export interface Envelope {
  readonly authData: Readonly<Record<string, unknown>> | undefined;
  readonly token: string | undefined;
  readonly requests: readonly unknown[];
}

export interface EnvelopeLimits {
  readonly allowAuthData: boolean;
  readonly maxRequestsPerBatch?: number | undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The checks and texts of HTTP_AND_CONFIG §2.1, in the reference's order, then the batch size limit. */
export function parseEnvelope(value: unknown, limits: EnvelopeLimits): Envelope | HttpRefusal {
  const refuse = (text: string) => new HttpRefusal(400, text);
  if (!isObject(value)) return refuse('Invalid message: the request body must be a JSON object.');
  const { body, authData, token } = value;
  if (body === undefined) return refuse('Invalid message: the "body" parameter must exist.');
  if (!Array.isArray(body) || body.length === 0) return refuse('Invalid message: the "body" parameter must be a non-empty array of Objects.');
  if (authData !== undefined && !limits.allowAuthData) return refuse('Authentication using authData is disabled. Try using a token instead.');
  if (authData !== undefined && !isObject(authData)) return refuse('Invalid message: the "authData" parameter must be an object');
  if (token !== undefined && (typeof token !== 'string' || token === '')) return refuse('Invalid message: the "token" parameter must be a non-empty string');
  if (limits.maxRequestsPerBatch !== undefined && body.length > limits.maxRequestsPerBatch) {
    return refuse(`Invalid message: the "body" parameter may hold at most ${limits.maxRequestsPerBatch} requests, got ${body.length}.`);
  }
  return { authData, token, requests: body };
}
