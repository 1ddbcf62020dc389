/** `POST /v1/chat/completions`: chat messages with text and image_url parts, whole or streamed. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { admit, runGeneration } from '../generation.js';
import { mapChat, Shapes, type ChatBody } from '../openai.js';
import { chatSchema } from '../schemas.js';

export function chatRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    {
      schema: { body: chatSchema },
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
      const mapped = mapChat(request.body, {
        defaultMaxTokens: ctx.options.defaultMaxTokens ?? ctx.maxTokensShare(model),
        maxTokensCap: ctx.maxTokensShare(model),
        imageIndex: (url) => ctx.body.imageIndex(url),
      });
      return runGeneration(ctx, request, reply, mapped, new Shapes('chat', ctx.modelId));
    },
  );
}
