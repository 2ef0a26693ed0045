import { definePlugin } from '@deepstream-ts/core';
import { HttpApi } from './api.ts';
import { markDeliveryFailed, markPassedInbound } from './http-session.ts';
import { HTTP_API_OPTIONS, checkPaths, type HttpApiOptions } from './options.ts';

/**
 * deepstream's HTTP API (HTTP_AND_CONFIG §2) on the server's port: batched JSON requests run
 * through a transient session each, so that authentication, permissions and every feature plugin
 * apply exactly as they do to WebSocket clients; plus token login.
 */
export const httpApi = definePlugin<HttpApiOptions>({
  package: import.meta.url,
  options: HTTP_API_OPTIONS,
  setup(ctx) {
    checkPaths(ctx.name, ctx.options);
    const api = new HttpApi(ctx);
    // First in the chain, and only for sessions of token logins: the token already stands for an
    // identity. `strategy: false`: it never judges credentials, so strategies that count the
    // others (auth-file's reportInvalidParameters) leave it out.
    const tokenTap = { name: ctx.name, stage: -100, strategy: false };
    ctx.hooks.authenticate.tap(tokenTap, ({ connection }) => api.identities.get(connection));
    // A plugin failure reported while a batch message is delivered fails that request (not SUCCESS).
    ctx.hooks.error.tap(ctx.name, markDeliveryFailed);
    ctx.hooks.boot.tap(ctx.name, () => {
      // Only when something filters inbound messages (a rate limit): a last tap tells a dropped
      // message from a handled one, and WebSocket traffic pays for it only then.
      if (!ctx.hooks.inbound.isUsed()) return;
      ctx.hooks.inbound.tap({ name: ctx.name, stage: Number.MAX_SAFE_INTEGER }, (session) => void markPassedInbound(session));
      api.watchesInbound = true;
    });
    const { postPath, getPath, authPath, enableAuthEndpoint } = ctx.options;
    for (const prefix of new Set([postPath, getPath, ...(enableAuthEndpoint ? [authPath] : [])])) ctx.http.add(prefix, api.serve);
    ctx.addTransport((host) => api.transport(host));
    ctx.onClose(() => api.close());
  },
});

export default httpApi;
export type { HttpApiOptions };
export type { JifRequest } from './jif.ts';
export type { JifResult } from './results.ts';
