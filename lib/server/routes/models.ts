/** `GET /v1/models` and `GET /v1/models/:id`: the served model, with its input modalities. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';

function entry(ctx: ServerContext) {
  const info = ctx.model?.info;
  return {
    id: ctx.modelId,
    object: 'model',
    created: Math.floor((ctx.loadedAt ?? Date.now()) / 1000),
    owned_by: 'smolvlm-node',
    input_modalities: info?.hasVision ? ['text', 'image'] : ['text'],
    output_modalities: ['text'],
    context_length: info?.contextSize ?? null,
    parallel: info?.parallel ?? null,
    status: ctx.status,
  };
}

export function modelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: ctx.model ? [entry(ctx)] : [] }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) => {
    const { id } = request.params;
    if (!ctx.model || (id !== ctx.modelId && !ctx.options.modelAliases?.includes(id))) {
      throw new HttpError(404, `the model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
    }
    return entry(ctx);
  });
}
