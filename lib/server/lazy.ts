/**
 * The server as the package's main entry exports it: loaded on first use, so that importing the
 * library does not pay for fastify, ajv and prom-client (several hundred ms) when nothing serves.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { SmolVLM } from '../model.js';
import type { CreateServerOptions, SmolVLMPluginOptions } from './index.js';

/**
 * An OpenAI-compatible server for `model` (a loaded model, or the promise of one: `/health` is
 * 503 until it resolves): a fastify instance serving `/v1/chat/completions`, `/v1/completions`,
 * `/v1/models`, `/health` and (with `metrics: true`) `/metrics`. `listen({ host, port })` it,
 * `inject()` it in tests, `close()` it to stop: it stops accepting, lets generations in flight
 * finish for `shutdownGraceMs`, aborts the rest, then resolves. The model stays the caller's to
 * dispose.
 * @throws InvalidArgumentError for bad options
 */
export async function createServer(model: SmolVLM | Promise<SmolVLM>, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  const server = await import('./index.js');
  return server.createServer(model, options);
}

/**
 * The same routes as a fastify plugin, to mount into an existing app:
 * `app.register(smolvlmPlugin, { model: vlm, prefix: '/ai', apiKey })`. Encapsulated: its auth,
 * body parser, validation and error handler apply to its own routes only.
 */
export const smolvlmPlugin: FastifyPluginAsync<SmolVLMPluginOptions> = async (app, options) => {
  const server = await import('./index.js');
  await server.smolvlmPlugin(app, options);
};
