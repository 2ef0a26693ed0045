import type { AuthenticationResult, JSONValue } from '@deepstream-ts/core';
import type { WebhookResponse } from './request.ts';

/** What one webhook answer means for the login. */
export type Verdict =
  | { readonly kind: 'valid'; readonly result: AuthenticationResult }
  | { readonly kind: 'refused'; readonly clientData?: JSONValue }
  | { readonly kind: 'retry' }
  | { readonly kind: 'invalid'; readonly why: string };

const RETRY: Verdict = { kind: 'retry' };
const isObject = (value: unknown): value is Record<string, JSONValue> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Maps a webhook answer to a verdict (SECURITY §2.3, refusal bodies as upstream v10). */
export function interpret(
  response: WebhookResponse,
  { permittedStatusCodes, retryStatusCodes }: { permittedStatusCodes: readonly number[]; retryStatusCodes: readonly number[] },
): Verdict {
  const { status, body } = response;
  if (retryStatusCodes.includes(status)) return RETRY;
  const permitted = permittedStatusCodes.includes(status);
  let parsed: unknown = body;
  if (response.json && body !== '') {
    try {
      parsed = JSON.parse(body);
    } catch {
      // A "yes" we cannot read is not a yes; a "no" we cannot read is still a no, with its text.
      if (permitted) return { kind: 'invalid', why: `status ${status} with a body that is not the JSON its Content-Type says` };
    }
  }
  return permitted ? accepted(parsed, status) : refused(parsed, body);
}

function accepted(body: unknown, status: number): Verdict {
  if (body === '') return { kind: 'valid', result: { isValid: true } };
  if (typeof body === 'string') return { kind: 'valid', result: { isValid: true, id: body } };
  if (!isObject(body)) return { kind: 'invalid', why: `status ${status} with a JSON ${body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body} body, not an object or a string` };
  const { id, clientData, serverData, token } = body;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    return { kind: 'invalid', why: `status ${status} with an id of type ${Array.isArray(id) ? 'array' : typeof id}` };
  }
  const result: { isValid: true; id?: string; clientData?: JSONValue; serverData?: JSONValue; token?: string } = { isValid: true };
  if (id !== undefined && id !== null) result.id = String(id);
  if (clientData !== undefined) result.clientData = clientData;
  if (serverData !== undefined) result.serverData = serverData;
  // Handed back by the HTTP API's token login (HTTP_AND_CONFIG §2.4); the webhook checks it later.
  if (typeof token === 'string' && token !== '') result.token = token;
  return { kind: 'valid', result };
}

function refused(body: unknown, text: string): Verdict {
  if (body === '') return { kind: 'refused' };
  if (isObject(body)) return Object.keys(body).length === 0 ? { kind: 'refused' } : { kind: 'refused', clientData: body };
  return { kind: 'refused', clientData: { error: typeof body === 'string' ? body : text } };
}
