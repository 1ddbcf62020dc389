/**
 * What the two generation routes share: admission before the body is read (429 never costs a
 * parse), the body limit, the model check, the mapping of the body to a request, the run.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { admit, runGeneration } from '../generation.js';
import { Shapes, type MapContext, type MappedRequest } from '../openai.js';

export interface GenerationRoute<B extends { model?: string }> {
  path: string;
  kind: 'chat' | 'completion';
  schema: object;
  map(body: B, ctx: MapContext): MappedRequest;
}

export function generationRoute<B extends { model?: string }>(app: FastifyInstance, ctx: ServerContext, route: GenerationRoute<B>): void {
  app.post<{ Body: B }>(
    route.path,
    {
      schema: { body: route.schema },
      bodyLimit: ctx.options.maxBodyBytes,
      config: { generation: true },
      preParsing: async (request, reply, payload) => {
        admit(ctx, request, reply);
        return payload;
      },
    },
    async (request, reply) => {
      const body = request.body as B; // validated by the route's schema
      ctx.checkModel(body.model);
      const model = ctx.requireModel();
      const mapped = route.map(body, {
        defaultMaxTokens: ctx.options.defaultMaxTokens ?? ctx.maxTokensShare(model),
        maxTokensCap: ctx.maxTokensShare(model),
        imageIndex: (url) => ctx.body.imageIndex(url),
        loras: model.info.lora,
      });
      return runGeneration(ctx, request, reply, mapped, new Shapes(route.kind, ctx.modelId));
    },
  );
}
