/**
 * `GET /health`: 200 when the model is ready, 503 while it loads, after it failed to load, and
 * while the server shuts down (a load balancer's readiness probe). The only route without a key.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', { config: { public: true } }, async (_request, reply) => {
    if (ctx.status === 'ready' && ctx.model && !ctx.model.disposed) {
      return { status: 'ok', model: ctx.modelId, slots: ctx.admission.slots, busy: ctx.admission.busy, queued: ctx.admission.queued };
    }
    reply.code(503);
    if (ctx.status === 'failed') return { status: 'error', error: (ctx.loadError as Error)?.message ?? String(ctx.loadError) };
    return { status: ctx.status === 'loading' ? 'loading' : 'shutting_down' };
  });
}
