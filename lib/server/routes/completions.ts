/** `POST /v1/completions`: a raw prompt (special tokens parsed, text only), whole or streamed. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { admit, runGeneration } from '../generation.js';
import { mapCompletion, Shapes, type CompletionBody } from '../openai.js';
import { completionSchema } from '../schemas.js';

export function completionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    {
      schema: { body: completionSchema },
      bodyLimit: ctx.options.maxBodyBytes,
      config: { generation: true },
      preParsing: async (request, reply, payload) => {
        admit(ctx, request, reply);
        return payload;
      },
    },
    async (request, reply) => {
      ctx.checkModel(request.body.model);
      const model = ctx.requireModel();
      const mapped = mapCompletion(request.body, {
        defaultMaxTokens: ctx.options.defaultMaxTokens ?? ctx.maxTokensShare(model),
        maxTokensCap: ctx.maxTokensShare(model),
        imageIndex: () => undefined,
      });
      return runGeneration(ctx, request, reply, mapped, new Shapes('completion', ctx.modelId));
    },
  );
}
