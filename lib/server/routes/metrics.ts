/** `GET /metrics`: Prometheus text (only when the server was created with `metrics: true`). */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function metricsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const metrics = ctx.metrics;
  if (!metrics) return;
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.text();
  });
}
