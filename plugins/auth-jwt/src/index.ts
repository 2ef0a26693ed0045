import { jwtVerify, type JWTVerifyOptions } from 'jose';
import { countAuthenticationStrategies, definePlugin, type AuthenticationResult } from '@deepstream-ts/core';
import { resultFor } from './claims.ts';
import { verificationKey } from './keys.ts';
import { AUTH_JWT_OPTIONS, chooseKeySource, type AuthJwtOptions } from './options.ts';
import { reasonFor } from './reasons.ts';

export type { AuthJwtOptions } from './options.ts';

/**
 * JWT authentication: `client.login({ token })` with a token signed by a shared secret (HS256),
 * a public key or a JWKS (RS256/ES256 by default). Login data without a token is "not mine".
 */
export const authJwt = definePlugin<AuthJwtOptions>({
  package: import.meta.url,
  options: AUTH_JWT_OPTIONS,
  setup(ctx) {
    const options = ctx.options;
    const source = chooseKeySource(ctx.name, options);
    const key = verificationKey(ctx.name, source, options, ctx.config.baseDir);
    const verify: JWTVerifyOptions = {
      algorithms: source.algorithms, // never `none`: jose refuses unsecured tokens whenever a key is given
      clockTolerance: options.clockTolerance,
      requiredClaims: options.requireExpiry ? ['exp'] : [],
    };
    if (options.issuer !== undefined) verify.issuer = options.issuer;
    if (options.audience !== undefined) verify.audience = options.audience;
    let report = options.reportInvalidParameters ?? true;
    ctx.hooks.boot.tap(ctx.name, () => {
      if (options.reportInvalidParameters === undefined) report = countAuthenticationStrategies(ctx.hooks) === 1;
    });
    const refuse = (error: string): AuthenticationResult | undefined => (report ? { isValid: false, clientData: { error } } : undefined);

    ctx.hooks.authenticate.tapPromise(ctx.name, async ({ authData }) => {
      const token = Array.isArray(authData) ? undefined : (authData as Record<string, unknown>)[options.tokenField];
      if (token === undefined || token === null) return undefined; // not a token login
      if (typeof token !== 'string') return refuse(`the ${options.tokenField} must be a string`);
      let payload;
      try {
        // The overloads differ only in whether the key is fixed or resolved per token.
        ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], verify));
      } catch (error) {
        const { reason, unavailable } = reasonFor(error);
        if (unavailable) ctx.log.warn({ source: source.kind, ...describe(error) }, 'cannot verify tokens: the key set is unavailable');
        else ctx.log.debug({ reason }, 'token refused');
        return refuse(reason);
      }
      const result = resultFor(payload, options);
      return 'error' in result ? refuse(result.error) : result;
    });
  },
});

/** Names and codes only: an error message might quote what it failed on. */
function describe(error: unknown): { error: string; code?: string } {
  const { name = 'Error', code, cause } = (error ?? {}) as { name?: string; code?: string; cause?: { code?: string } };
  const detail = code ?? cause?.code;
  return detail === undefined ? { error: name } : { error: name, code: detail };
}

export default authJwt;
