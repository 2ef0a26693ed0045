import { setTimeout as sleep } from 'node:timers/promises';
import { countAuthenticationStrategies, definePlugin, type AuthenticationRequest, type AuthenticationResult, type JSONValue } from '@deepstream-ts/core';
import { interpret, type Verdict } from './answer.ts';
import { AUTH_HTTP_OPTIONS, checkEndpoint, type AuthHttpOptions } from './options.ts';
import { InvalidResponse, post } from './request.ts';

export type { AuthHttpOptions } from './options.ts';

const RETRIES_EXCEEDED = Object.freeze({ error: 'AUTH_RETRY_ATTEMPTS_EXCEEDED' });

/**
 * Webhook authentication (SECURITY §2.3): each login is POSTed to `endpointUrl` as
 * `{ connectionData, authData }`; the status says yes or no, the body carries id and data.
 */
export const authHttp = definePlugin<AuthHttpOptions>({
  package: import.meta.url,
  options: AUTH_HTTP_OPTIONS,
  setup(ctx) {
    const options = ctx.options;
    checkEndpoint(ctx.name, options);
    const url = new URL(options.endpointUrl);
    // For logs: no credentials in the userinfo or the query string ever reach a log line.
    const endpoint = `${url.origin}${url.pathname}`;
    const closing = new AbortController();
    ctx.onClose(() => closing.abort());
    let report = options.reportInvalidParameters ?? true;
    ctx.hooks.boot.tap(ctx.name, () => {
      if (options.reportInvalidParameters === undefined) report = countAuthenticationStrategies(ctx.hooks) === 1;
    });
    const refuse = (clientData?: JSONValue): AuthenticationResult | undefined =>
      report ? (clientData === undefined ? { isValid: false } : { isValid: false, clientData }) : undefined;

    async function ask(body: string, headers: Headers): Promise<Verdict> {
      try {
        const response = await post(url, body, headers, AbortSignal.any([AbortSignal.timeout(options.requestTimeout), closing.signal]));
        ctx.log.debug({ endpoint, status: response.status }, 'auth webhook answered');
        return interpret(response, options);
      } catch (error) {
        if (error instanceof InvalidResponse) return { kind: 'invalid', why: error.message };
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        ctx.log.debug({ endpoint, cause }, 'auth webhook request failed');
        return { kind: 'retry' };
      }
    }

    async function authenticate({ authData, connection }: AuthenticationRequest): Promise<AuthenticationResult | undefined> {
      const headers = new Headers({ 'content-type': 'application/json' });
      const fields = Array.isArray(authData) ? {} : (authData as Record<string, unknown>);
      for (const field of options.promoteToHeader) {
        const value = fields[field];
        if (!value) continue;
        try {
          headers.set(field, typeof value === 'string' ? value : JSON.stringify(value));
        } catch {
          return refuse({ error: `the login field "${field}" cannot be sent as an HTTP header` }); // the value is never echoed
        }
      }
      const referer = connection.headers.referer;
      const connectionData = { remoteAddress: connection.remoteAddress, headers: connection.headers, ...(referer === undefined ? {} : { referer }) };
      const body = JSON.stringify({ connectionData, authData });

      for (let attempt = 0; attempt <= options.retryAttempts; attempt++) {
        if (attempt > 0) await sleep(options.retryInterval, undefined, { signal: closing.signal }).catch(() => undefined);
        if (closing.signal.aborted) return { isValid: false }; // shutting down: no login completes now
        const verdict = await ask(body, headers);
        switch (verdict.kind) {
          case 'valid':
            return verdict.result;
          case 'refused':
            return refuse(verdict.clientData);
          case 'invalid':
            ctx.log.warn({ endpoint, why: verdict.why }, 'auth webhook sent an answer that makes no sense; login refused');
            return refuse();
          case 'retry':
            continue;
        }
      }
      ctx.log.warn({ endpoint, attempts: options.retryAttempts + 1 }, 'auth webhook unreachable or unwell on every attempt; login refused');
      return refuse(RETRIES_EXCEEDED);
    }

    ctx.hooks.authenticate.tapPromise(ctx.name, authenticate);
  },
});

export default authHttp;
