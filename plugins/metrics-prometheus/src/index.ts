import { Registry, collectDefaultMetrics } from 'prom-client';
import { definePlugin, sendText } from '@deepstream-ts/core';
import { clusterMetrics } from './cluster-metrics.ts';
import { connectorMetrics } from './connector-metrics.ts';
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
    const { prefix } = ctx.options;
    // A registry per server, never prom-client's global one: several servers may share a process.
    const registry = new Registry();
    if (ctx.options.processMetrics) collectDefaultMetrics({ register: registry });
    countSessions(ctx.hooks, ctx.name, registry, prefix);
    countMessages(ctx.hooks, ctx.name, registry, prefix);
    countHookErrors(ctx.hooks, ctx.name, registry, prefix);
    ctx.onClose(clusterMetrics(ctx.use('cluster'), registry, prefix));
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
      const text = await registry.metrics();
      response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      response.end(text);
    });
    ctx.onClose(() => registry.clear());
  },
});

export default metricsPrometheus;
export type { MetricsOptions };
