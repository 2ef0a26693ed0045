export interface AuthJwtOptions {
  /** HMAC secret (HS256/384/512), at least 32 bytes. One of `secret`, `publicKey`, `jwksUrl`. */
  secret?: string;
  /** A PEM public key or certificate, or the path of one (relative to the config file's directory). */
  publicKey?: string;
  /** A JSON Web Key Set to fetch the keys from (https, or http on a loopback address only). */
  jwksUrl?: string;
  /** Accepted `alg` values; default `HS256` with a secret, `RS256` and `ES256` with keys. `none` never. */
  algorithms?: string[];
  /** Required `iss` (one of these, when a list). */
  issuer?: string | string[];
  /** Required `aud` (one of these, when a list). */
  audience?: string | string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  clockTolerance: number;
  /** Refuse tokens without `exp`: a token that never expires cannot be taken back. */
  requireExpiry: boolean;
  /** The claim holding the user id. */
  idClaim: string;
  /** Claims copied into serverData (permission rules see them as `user.data`), or `all` for the whole payload. */
  serverDataClaims: string[] | 'all';
  /** Claims copied into clientData (sent to the client on login); none by default. */
  clientDataClaims: string[];
  /** The login data field that carries the token. */
  tokenField: string;
  /** JWKS: milliseconds a fetch may take, how long keys are kept, and the least time between refetches. */
  jwksTimeout: number;
  jwksCacheMaxAge: number;
  jwksCooldown: number;
  /**
   * Bad tokens end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters?: boolean;
}

export const DEFAULT_OPTIONS: AuthJwtOptions = {
  clockTolerance: 5,
  requireExpiry: true,
  idClaim: 'sub',
  serverDataClaims: 'all',
  clientDataClaims: [],
  tokenField: 'token',
  jwksTimeout: 5000,
  jwksCacheMaxAge: 600_000,
  jwksCooldown: 30_000,
};

const HMAC = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** RFC 7518 §3.2: an HMAC key at least as long as the hash; 32 bytes is HS256's. */
const MIN_SECRET_BYTES = 32;

/** The key source chosen, with the algorithms it accepts. */
export type KeySource =
  | { kind: 'secret'; secret: string; algorithms: string[] }
  | { kind: 'publicKey'; publicKey: string; algorithms: string[] }
  | { kind: 'jwks'; url: URL; algorithms: string[] };

/** Throws, naming the option, when the settings cannot work; returns the key source. */
export function checkOptions(options: Readonly<AuthJwtOptions>): KeySource {
  const { secret, publicKey, jwksUrl, algorithms } = options;
  const given = [secret, publicKey, jwksUrl].filter((value) => value !== undefined).length;
  if (given !== 1) throw new TypeError(`auth-jwt needs exactly one of the options secret, publicKey or jwksUrl; ${given} given`);
  const allowed = secret !== undefined ? HMAC : ASYMMETRIC;
  const chosen = algorithms ?? (secret !== undefined ? ['HS256'] : ['RS256', 'ES256']);
  if (!Array.isArray(chosen) || chosen.length === 0 || chosen.some((alg) => !allowed.includes(alg))) {
    throw new TypeError(`auth-jwt option algorithms must be a non-empty list from ${allowed.join(', ')} ${secret !== undefined ? 'with a secret' : 'with public keys'}, got ${JSON.stringify(algorithms)}`);
  }
  for (const key of ['clockTolerance', 'jwksTimeout', 'jwksCacheMaxAge', 'jwksCooldown'] as const) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`auth-jwt option ${key} must be a number >= 0, got ${String(value)}`);
  }
  for (const key of ['idClaim', 'tokenField'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') throw new TypeError(`auth-jwt option ${key} must be a non-empty string, got ${JSON.stringify(options[key])}`);
  }
  for (const key of ['issuer', 'audience'] as const) {
    const value = options[key];
    if (value !== undefined && !(typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')))) {
      throw new TypeError(`auth-jwt option ${key} must be a string or a list of strings, got ${JSON.stringify(value)}`);
    }
  }
  const claimList = (key: 'serverDataClaims' | 'clientDataClaims', value: unknown) => {
    if (!Array.isArray(value) || value.some((claim) => typeof claim !== 'string')) throw new TypeError(`auth-jwt option ${key} must be a list of claim names${key === 'serverDataClaims' ? " or 'all'" : ''}, got ${JSON.stringify(value)}`);
  };
  if (options.serverDataClaims !== 'all') claimList('serverDataClaims', options.serverDataClaims);
  claimList('clientDataClaims', options.clientDataClaims);
  if (typeof options.requireExpiry !== 'boolean') throw new TypeError(`auth-jwt option requireExpiry must be true or false, got ${String(options.requireExpiry)}`);
  if (options.reportInvalidParameters !== undefined && typeof options.reportInvalidParameters !== 'boolean') {
    throw new TypeError(`auth-jwt option reportInvalidParameters must be true or false, got ${String(options.reportInvalidParameters)}`);
  }

  if (secret !== undefined) {
    if (typeof secret !== 'string' || Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new TypeError(`auth-jwt option secret must be a string of at least ${MIN_SECRET_BYTES} bytes`);
    return { kind: 'secret', secret, algorithms: chosen };
  }
  if (publicKey !== undefined) {
    if (typeof publicKey !== 'string' || publicKey === '') throw new TypeError('auth-jwt option publicKey must be PEM text or the path of a PEM file');
    return { kind: 'publicKey', publicKey, algorithms: chosen };
  }
  let url: URL;
  try {
    url = new URL(String(jwksUrl));
  } catch {
    throw new TypeError(`auth-jwt option jwksUrl must be a URL, got ${JSON.stringify(jwksUrl)}`);
  }
  // Whoever can change the key set in transit can sign any token: plain http only on this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new TypeError(`auth-jwt option jwksUrl must use https (plain http only for localhost), got ${url.protocol}//${url.host}`);
  }
  return { kind: 'jwks', url, algorithms: chosen };
}
