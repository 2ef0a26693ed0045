import { errors } from 'jose';

/**
 * Why a token was refused, in words for the client, or `unavailable` when the server could not
 * check it (the key set is unreachable): that is our problem, not the client's.
 */
export function reasonFor(error: unknown): { reason: string; unavailable?: boolean } {
  if (!(error instanceof errors.JOSEError)) return { reason: 'the token cannot be verified now', unavailable: true };
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return { reason: 'the token has expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === 'nbf') return { reason: 'the token is not valid yet' };
      return { reason: reason === 'missing' ? `the token has no "${claim}" claim` : `the token's "${claim}" claim is not accepted` };
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { reason: 'the token signature is not valid' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { reason: 'the token algorithm is not accepted' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { reason: 'the token is signed with an unknown key' };
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return { reason: 'the token cannot be verified now', unavailable: true };
    default:
      return { reason: 'the token is malformed' };
  }
}
