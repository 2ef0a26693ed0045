export interface HttpApiOptions {
  /** Prefix of batched message POSTs (HTTP_AND_CONFIG §2.1). */
  postPath: string;
  /** Prefix of GET requests, which always answer 400 (HTTP_AND_CONFIG §2.6). */
  getPath: string;
  /** Token login endpoint (HTTP_AND_CONFIG §2.4). */
  authPath: string;
  enableAuthEndpoint: boolean;
  /** Accept `authData` inside message POSTs. */
  allowAuthData: boolean;
  /** Log the credentials of refused logins (they may hold passwords: off by default). */
  logInvalidAuthData: boolean;
  /** Milliseconds a batch may take; unanswered requests then fail with HTTP_REQUEST_TIMEOUT. */
  requestTimeout: number;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxMessageSize: number;
  /**
   * Most requests one batch may hold; more is refused with 400 before anything runs. Unset: no
   * count of its own, `maxMessageSize` bounds a batch (as in deepstream).
   */
  maxRequestsPerBatch: number | undefined;
  /**
   * Bytes of an oversize body read and discarded so that the client gets its 413 instead of a
   * broken pipe; a body declared or sent beyond this is answered at once and the connection closed.
   */
  maxDrainSize: number;
  /** Milliseconds a token issued by `authPath` stays valid. */
  tokenExpiry: number;
  /** Most live tokens kept; past it the oldest are forgotten first. */
  maxTokens: number;
  /** CORS (HTTP_AND_CONFIG §1): answer every origin with `Access-Control-Allow-Origin: *`. */
  allowAllOrigins: boolean;
  /** CORS: the origins accepted when `allowAllOrigins` is false. */
  origins: string[];
  /** CORS: when set (and `allowAllOrigins` is false), the `Host` header must equal it. */
  hostUrl: string | undefined;
}

export const DEFAULT_OPTIONS: HttpApiOptions = {
  postPath: '/api',
  getPath: '/api',
  authPath: '/api/auth',
  enableAuthEndpoint: true,
  allowAuthData: true,
  logInvalidAuthData: false,
  requestTimeout: 20_000,
  maxMessageSize: 1_048_576,
  maxRequestsPerBatch: undefined,
  maxDrainSize: 16_777_216,
  tokenExpiry: 3_600_000,
  maxTokens: 100_000,
  allowAllOrigins: true,
  origins: [],
  hostUrl: undefined,
};

/** Fails setup with a message naming the option, rather than misbehaving at the first request. */
export function checkOptions(options: HttpApiOptions): void {
  for (const key of ['postPath', 'getPath', 'authPath'] as const) {
    const value = options[key];
    if (typeof value !== 'string' || !value.startsWith('/')) throw new TypeError(`http-api option "${key}" must be a path starting with "/", got ${JSON.stringify(value)}`);
  }
  if (options.enableAuthEndpoint === true && options.authPath === options.postPath) {
    throw new TypeError(`http-api options "authPath" and "postPath" must differ, both are ${JSON.stringify(options.postPath)}`);
  }
  for (const key of ['requestTimeout', 'maxMessageSize', 'maxRequestsPerBatch', 'maxDrainSize', 'tokenExpiry', 'maxTokens'] as const) {
    const value = options[key];
    if (key === 'maxRequestsPerBatch' && value === undefined) continue;
    if (!Number.isInteger(value) || (value as number) < 1) throw new TypeError(`http-api option "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  for (const key of ['enableAuthEndpoint', 'allowAuthData', 'logInvalidAuthData', 'allowAllOrigins'] as const) {
    if (typeof options[key] !== 'boolean') throw new TypeError(`http-api option "${key}" must be a boolean, got ${JSON.stringify(options[key])}`);
  }
  if (!Array.isArray(options.origins) || options.origins.some((origin) => typeof origin !== 'string')) {
    throw new TypeError(`http-api option "origins" must be a list of strings, got ${JSON.stringify(options.origins)}`);
  }
  if (options.hostUrl !== undefined && typeof options.hostUrl !== 'string') {
    throw new TypeError(`http-api option "hostUrl" must be a string, got ${JSON.stringify(options.hostUrl)}`);
  }
}
