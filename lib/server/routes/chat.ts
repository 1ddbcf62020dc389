/** `POST /v1/chat/completions`: chat messages with text and image_url parts, whole or streamed. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { mapChat, type ChatBody } from '../openai.js';
import { chatSchema } from '../schemas.js';
import { generationRoute } from './generation.js';

export function chatRoutes(app: FastifyInstance, ctx: ServerContext): void {
  generationRoute<ChatBody>(app, ctx, { path: '/v1/chat/completions', kind: 'chat', schema: chatSchema, map: mapChat });
}
