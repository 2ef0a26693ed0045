import { createRequire } from 'node:module';
import { definePlugin } from '@deepstream-ts/core';
import { HttpApi } from './api.ts';
import { DEFAULT_OPTIONS, checkOptions, type HttpApiOptions } from './options.ts';

const { name, version } = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/**
 * deepstream's HTTP API (HTTP_AND_CONFIG §2) on the server's port: batched JSON requests run
 * through a transient session each, so that authentication, permissions and every feature plugin
 * apply exactly as they do to WebSocket clients; plus token login.
 */
export const httpApi = definePlugin<HttpApiOptions>({
  name,
  version,
  kernel: '^0.1.0',
  defaults: DEFAULT_OPTIONS,
  setup(ctx) {
    checkOptions(ctx.options);
    const api = new HttpApi(ctx);
    // First in the chain, and only for sessions of token logins: the token already stands for an identity.
    ctx.hooks.authenticate.tap({ name: ctx.name, stage: -100 }, ({ connection }) => api.identities.get(connection));
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
