/** `POST /v1/completions`: a raw prompt (special tokens parsed, text only), whole or streamed. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { mapCompletion, type CompletionBody } from '../openai.js';
import { completionSchema } from '../schemas.js';
import { generationRoute } from './generation.js';

export function completionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // a raw prompt carries no image_url parts: imageIndex is never asked
  generationRoute<CompletionBody>(app, ctx, { path: '/v1/completions', kind: 'completion', schema: completionSchema, map: mapCompletion });
}
