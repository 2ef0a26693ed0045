import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { KERNEL_VERSION, definePlugin, sendText } from '@deepstream-ts/core';
import { clusterMetrics } from './cluster-metrics.ts';
import { connectorMetrics } from './connector-metrics.ts';
import { featureGauges } from './feature-gauges.ts';
import { timeHooks } from './hook-timings.ts';
import { countMessages } from './message-metrics.ts';
import { METRICS_OPTIONS, type MetricsOptions } from './options.ts';
import { countHookErrors, countSessions } from './session-metrics.ts';

/**
 * Prometheus metrics on `GET /metrics`: connections, sessions, messages by topic and action,
 * logins, permission denials, plugin errors, connector latency, cluster membership, and optionally
 * hook timings.
 * Its `inbound` and `outbound` taps are what make the kernel call those hooks at all: without this
 * plugin, messages cost nothing extra.
 */
export const metricsPrometheus = definePlugin<MetricsOptions>({
  package: import.meta.url,
  needs: { storage: 'optional', cache: 'optional' },
  options: METRICS_OPTIONS,
  setup(ctx) {
    const { prefix, token } = ctx.options;
    // A registry per server, never prom-client's global one: several servers may share a process.
    const registry = new Registry();
    if (ctx.options.processMetrics) collectDefaultMetrics({ register: registry });
    countSessions(ctx.hooks, ctx.name, registry, prefix);
    countMessages(ctx.hooks, ctx.name, registry, prefix);
    countHookErrors(ctx.hooks, ctx.name, registry, prefix);
    ctx.onClose(clusterMetrics(ctx.use('cluster'), registry, prefix));
    new Gauge({ name: `${prefix}build_info`, help: 'Always 1; the labels say which kernel version runs', labelNames: ['version'], registers: [registry] }).set({ version: KERNEL_VERSION }, 1);
    const refreshFeatureGauges = featureGauges(ctx.use('inspection'), registry, prefix, ctx.log);
    if (ctx.options.hookTimings) timeHooks(ctx.hooks, registry, prefix);
    if (ctx.options.connectorMetrics) {
      const connectors = connectorMetrics(registry, prefix);
      // Connectors are declared needs, so they are set up before this plugin.
      for (const service of ['storage', 'cache'] as const) {
        const connector = ctx.find(service);
        if (connector !== undefined && !connectors.instrument(service, connector)) ctx.log.warn({ service }, 'connector object is frozen: its operations are not measured');
      }
      ctx.onClose(() => connectors.restore());
    }
    ctx.http.add(ctx.options.path, async (request, response) => {
      if (request.method !== 'GET') {
        response.setHeader('Allow', 'GET');
        return sendText(response, 405, 'Unsupported method. Supported methods: GET');
      }
      if (token !== undefined && !bearerMatches(request, token)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        return sendText(response, 401, 'Unauthorized: send the metrics token as "Authorization: Bearer <token>"');
      }
      refreshFeatureGauges();
      const text = await registry.metrics();
      response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      response.end(text);
    });
    ctx.onClose(() => registry.clear());
  },
});

/** Compares in constant time, so the token cannot be guessed byte by byte from response times. */
function bearerMatches(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization;
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export default metricsPrometheus;
export type { MetricsOptions };
