import { Type, invalidOptions, type Static } from '@deepstream-ts/core';

const names = Type.Array(Type.String(), { expected: 'a list of claim names' });
const oneOrMore = Type.Union([Type.String(), Type.Array(Type.String())], { expected: 'a string or a list of strings' });
const milliseconds = (value: number) => Type.Number({ minimum: 0, default: value });

export const AUTH_JWT_OPTIONS = Type.Object({
  /** HMAC secret (HS256/384/512), at least 32 bytes. One of `secret`, `publicKey`, `jwksUrl`. Never quoted in errors. */
  secret: Type.Optional(Type.String({ writeOnly: true })),
  /** A PEM public key or certificate, or the path of one (relative to the config file's directory). */
  publicKey: Type.Optional(Type.String({ minLength: 1, expected: 'PEM text or the path of a PEM file' })),
  /** A JSON Web Key Set to fetch the keys from (https, or http on a loopback address only). */
  jwksUrl: Type.Optional(Type.String()),
  /** Accepted `alg` values; default `HS256` with a secret, `RS256` and `ES256` with keys. `none` never. */
  algorithms: Type.Optional(Type.Array(Type.String())),
  /** Required `iss` (one of these, when a list). */
  issuer: Type.Optional(oneOrMore),
  /** Required `aud` (one of these, when a list). */
  audience: Type.Optional(oneOrMore),
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  clockTolerance: Type.Number({ minimum: 0, default: 5 }),
  /** Refuse tokens without `exp`: a token that never expires cannot be taken back. */
  requireExpiry: Type.Boolean({ default: true }),
  /** The claim holding the user id. */
  idClaim: Type.String({ minLength: 1, default: 'sub' }),
  /** Claims copied into serverData (permission rules see them as `user.data`), or `all` for the whole payload. */
  serverDataClaims: Type.Union([Type.Literal('all'), names], { expected: "a list of claim names or 'all'", default: 'all' }),
  /** Claims copied into clientData (sent to the client on login); none by default. */
  clientDataClaims: Type.Array(Type.String(), { expected: 'a list of claim names', default: [] }),
  /** The login data field that carries the token. */
  tokenField: Type.String({ minLength: 1, default: 'token' }),
  /** JWKS: milliseconds a fetch may take, how long keys are kept, and the least time between refetches. */
  jwksTimeout: milliseconds(5000),
  jwksCacheMaxAge: milliseconds(600_000),
  jwksCooldown: milliseconds(30_000),
  /**
   * Bad tokens end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters: Type.Optional(Type.Boolean()),
});

export type AuthJwtOptions = Static<typeof AUTH_JWT_OPTIONS>;

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

/**
 * Rules the schema cannot say: exactly one key source, algorithms that fit it, a secret long
 * enough, a key set fetched safely. Returns the key source.
 */
export function chooseKeySource(plugin: string, options: Readonly<AuthJwtOptions>): KeySource {
  const invalid = (problem: string) => invalidOptions(plugin, problem);
  const { secret, publicKey, jwksUrl, algorithms } = options;
  const given = [secret, publicKey, jwksUrl].filter((value) => value !== undefined).length;
  if (given !== 1) throw invalid(`needs exactly one of the options secret, publicKey or jwksUrl; ${given} given`);
  const allowed = secret !== undefined ? HMAC : ASYMMETRIC;
  const chosen = algorithms ?? (secret !== undefined ? ['HS256'] : ['RS256', 'ES256']);
  if (chosen.length === 0 || chosen.some((alg) => !allowed.includes(alg))) {
    throw invalid(`option "algorithms" must be a non-empty list from ${allowed.join(', ')} ${secret !== undefined ? 'with a secret' : 'with public keys'}, got ${JSON.stringify(algorithms)}`);
  }
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw invalid(`option "secret" must be a string of at least ${MIN_SECRET_BYTES} bytes`);
    return { kind: 'secret', secret, algorithms: chosen };
  }
  if (publicKey !== undefined) {
    return { kind: 'publicKey', publicKey, algorithms: chosen };
  }
  let url: URL;
  try {
    url = new URL(String(jwksUrl));
  } catch {
    throw invalid(`option "jwksUrl" must be a URL, got ${JSON.stringify(jwksUrl)}`);
  }
  // Whoever can change the key set in transit can sign any token: plain http only on this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw invalid(`option "jwksUrl" must use https (plain http only for localhost), got ${url.protocol}//${url.host}`);
  }
  return { kind: 'jwks', url, algorithms: chosen };
}
