import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { invalidOptions } from '@deepstream-ts/core';
import type { AuthJwtOptions, KeySource } from './options.ts';

/** What jose verifies against: a fixed key, or a resolver that picks a JWKS key by `kid`. */
export type VerificationKey = Uint8Array | KeyObject | JWTVerifyGetKey;

/** Builds the key once at start; a public key that cannot be read or parsed stops the start. */
export function verificationKey(plugin: string, source: KeySource, options: Readonly<AuthJwtOptions>, baseDir: string): VerificationKey {
  switch (source.kind) {
    case 'secret':
      return new TextEncoder().encode(source.secret);
    case 'publicKey': {
      let pem = source.publicKey;
      if (!pem.includes('-----BEGIN ')) {
        const file = resolve(baseDir, pem);
        try {
          pem = readFileSync(file, 'utf8');
        } catch (error) {
          throw invalidOptions(plugin, `option "publicKey": cannot read ${file}: ${(error as Error).message}`);
        }
      }
      try {
        const key = createPublicKey(pem); // a SPKI public key or an X.509 certificate
        if (key.type !== 'public') throw new Error(`it is a ${key.type} key`);
        return key;
      } catch (error) {
        throw invalidOptions(plugin, `option "publicKey" is not a PEM public key or certificate: ${(error as Error).message}`);
      }
    }
    case 'jwks':
      return createRemoteJWKSet(source.url, {
        timeoutDuration: options.jwksTimeout,
        cacheMaxAge: options.jwksCacheMaxAge,
        cooldownDuration: options.jwksCooldown,
      });
  }
}
