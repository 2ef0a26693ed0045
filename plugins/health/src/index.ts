import type { ServerResponse } from 'node:http';
import { definePlugin, sendText } from '@deepstream-ts/core';
import { HEALTH_OPTIONS, type HealthOptions } from './options.ts';
import { connectorCheck, kernelCheck } from './probes.ts';
import { HealthRegistry, type HealthCheck, type HealthCheckResult, type HealthChecks, type HealthReport } from './registry.ts';

declare module '@deepstream-ts/core' {
  interface Services {
    /** Named health checks; register yours with `ctx.find('health')?.register(name, check)`. */
    health: HealthChecks;
  }
}

/**
 * `GET /health-check` (HTTP_AND_CONFIG §1.1): 200 while the kernel is up and every registered check
 * passes, else 503 with a JSON report saying which check failed and why.
 */
export const health = definePlugin<HealthOptions>({
  package: import.meta.url,
  provides: ['health'],
  needs: { storage: 'optional', cache: 'optional' },
  options: HEALTH_OPTIONS,
  setup(ctx) {
    const registry = new HealthRegistry(ctx.options.checkTimeout);
    ctx.provide('health', registry);
    const kernel = kernelCheck(ctx.hooks, ctx.name);
    registry.register('kernel', kernel.check);
    if (ctx.options.probeConnectors) {
      // Connectors are declared needs, so they are set up before this plugin.
      for (const service of ['storage', 'cache'] as const) {
        const connector = ctx.find(service);
        if (connector !== undefined) registry.register(service, connectorCheck(connector));
      }
    }
    ctx.http.add(ctx.options.path, async (request, response) => {
      if (request.method !== 'GET') {
        response.setHeader('Allow', 'GET');
        return sendText(response, 405, 'Unsupported method. Supported methods: GET');
      }
      const report = await registry.run();
      if (!report.ok) ctx.log.warn({ checks: report.checks }, 'health check failed');
      send(response, report, kernel.sessions(), ctx.options.details);
    });
  },
});

function send(response: ServerResponse, report: HealthReport, sessions: number, details: boolean): void {
  response.writeHead(report.ok ? 200 : 503, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  if (report.ok && !details) return void response.end();
  response.end(`${JSON.stringify({ status: report.ok ? 'healthy' : 'unhealthy', sessions, checks: report.checks })}\r\n\r\n`);
}

export default health;
export { HealthRegistry, type HealthCheck, type HealthCheckResult, type HealthChecks, type HealthOptions, type HealthReport };
