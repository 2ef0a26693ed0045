import type { AuthenticationResult, JSONValue } from '@deepstream-ts/core';
import type { JWTPayload } from 'jose';
import type { AuthJwtOptions } from './options.ts';

/** The login result for a verified token, or the reason it cannot log anyone in. */
export function resultFor(payload: JWTPayload, options: Readonly<AuthJwtOptions>): AuthenticationResult | { error: string } {
  const id = payload[options.idClaim];
  if (typeof id !== 'string' || id === '') return { error: `the token has no "${options.idClaim}" claim naming the user` };
  // The payload came from JSON.parse, so it is JSON all the way down.
  const serverData = (options.serverDataClaims === 'all' ? payload : pick(payload, options.serverDataClaims)) as JSONValue;
  const result: { isValid: true; id: string; serverData: JSONValue; clientData?: JSONValue } = { isValid: true, id, serverData };
  if (options.clientDataClaims.length > 0) result.clientData = pick(payload, options.clientDataClaims) as JSONValue;
  return result;
}

function pick(payload: JWTPayload, claims: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const claim of claims) if (Object.hasOwn(payload, claim)) picked[claim] = payload[claim];
  return picked;
}
