import { Type, invalidOptions, type Static } from '@deepstream-ts/core';

const statusCodes = (codes: number[]) =>
  Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { expected: 'a list of HTTP status codes', default: codes });

export const AUTH_HTTP_OPTIONS = Type.Object({
  /** Receives a POST per login attempt (http:// or https://); required. */
  endpointUrl: Type.String({ expected: 'an http:// or https:// URL' }),
  /** Statuses that mean "valid". */
  permittedStatusCodes: statusCodes([200]),
  /** Milliseconds one request may take, connect to last byte. */
  requestTimeout: Type.Number({ exclusiveMinimum: 0, default: 2000 }),
  /** Fields of the login data also sent as request headers of the same name (when truthy). */
  promoteToHeader: Type.Array(Type.String(), { default: [] }),
  /** Statuses that mean "try again" (the endpoint or a proxy in front of it is unwell). */
  retryStatusCodes: statusCodes([502, 503, 504]),
  /** Retries after the first request; network errors and timeouts are retried too. */
  retryAttempts: Type.Integer({ minimum: 0, default: 3 }),
  /** Milliseconds between attempts. */
  retryInterval: Type.Number({ exclusiveMinimum: 0, default: 1000 }),
  /**
   * Refusals end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters: Type.Optional(Type.Boolean()),
});

export type AuthHttpOptions = Static<typeof AUTH_HTTP_OPTIONS>;

/** Rules the schema cannot say: the URL's scheme, status codes in one list only, header names. */
export function checkEndpoint(plugin: string, options: AuthHttpOptions): void {
  const { endpointUrl, permittedStatusCodes, retryStatusCodes, promoteToHeader } = options;
  let url: URL | undefined;
  try {
    url = new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalidOptions(plugin, `option "endpointUrl" must be an http:// or https:// URL, got ${JSON.stringify(endpointUrl)}`);
  }
  const both = permittedStatusCodes.filter((code) => retryStatusCodes.includes(code));
  if (both.length > 0) throw invalidOptions(plugin, `status ${both[0]} is in both permittedStatusCodes and retryStatusCodes`);
  for (const field of promoteToHeader) {
    try {
      new Headers().set(field, 'x');
    } catch {
      throw invalidOptions(plugin, `option "promoteToHeader": ${JSON.stringify(field)} cannot be an HTTP header name`);
    }
  }
}
