import { Type, invalidOptions, type Static } from '@deepstream-ts/core';

const path = (value: string) => Type.String({ pattern: '^/', expected: 'a path starting with "/"', default: value });
const positiveInteger = (value: number) => Type.Integer({ minimum: 1, default: value });

export const HTTP_API_OPTIONS = Type.Object({
  /** Prefix of batched message POSTs (HTTP_AND_CONFIG §2.1). */
  postPath: path('/api'),
  /** Prefix of GET requests, which always answer 400 (HTTP_AND_CONFIG §2.6). */
  getPath: path('/api'),
  /** Token login endpoint (HTTP_AND_CONFIG §2.4); must differ from `postPath` while `enableAuthEndpoint` is on. */
  authPath: path('/api/auth'),
  enableAuthEndpoint: Type.Boolean({ default: true }),
  /** Accept `authData` inside message POSTs. */
  allowAuthData: Type.Boolean({ default: true }),
  /** Log the credentials of refused logins (they may hold passwords: off by default). */
  logInvalidAuthData: Type.Boolean({ default: false }),
  /** Milliseconds a batch may take; unanswered requests then fail with HTTP_REQUEST_TIMEOUT. */
  requestTimeout: positiveInteger(20_000),
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxMessageSize: positiveInteger(1_048_576),
  /**
   * Most requests one batch may hold; more is refused with 400 before anything runs. Unset: no
   * count of its own, `maxMessageSize` bounds a batch (as in deepstream).
   */
  maxRequestsPerBatch: Type.Optional(Type.Integer({ minimum: 1 })),
  /**
   * Bytes of an oversize body read and discarded so that the client gets its 413 instead of a
   * broken pipe; a body declared or sent beyond this is answered at once and the connection closed.
   */
  maxDrainSize: positiveInteger(16_777_216),
  /** Milliseconds a token issued by `authPath` stays valid; also how often each node makes a new sealing key. */
  tokenExpiry: positiveInteger(3_600_000),
  /** Most revoked (logged out), unexpired tokens a node remembers; logouts beyond it answer 503. */
  maxTokens: positiveInteger(100_000),
  /** CORS (HTTP_AND_CONFIG §1): answer every origin with `Access-Control-Allow-Origin: *`. */
  allowAllOrigins: Type.Boolean({ default: true }),
  /** CORS: the origins accepted when `allowAllOrigins` is false. */
  origins: Type.Array(Type.String(), { default: [] }),
  /** CORS: when set (and `allowAllOrigins` is false), the `Host` header must equal it. */
  hostUrl: Type.Optional(Type.String()),
});

export type HttpApiOptions = Static<typeof HTTP_API_OPTIONS>;

/** The one rule the schema cannot say: token logins and message batches need paths of their own. */
export function checkPaths(plugin: string, options: HttpApiOptions): void {
  if (options.enableAuthEndpoint && options.authPath === options.postPath) {
    throw invalidOptions(plugin, `options "authPath" and "postPath" must differ, both are ${JSON.stringify(options.postPath)}`);
  }
}
