/**
 * The OpenAI-compatible HTTP server: `createServer(model, options)` returns a fastify instance
 * serving `/v1/chat/completions`, `/v1/completions`, `/v1/models`, `/health` and `/metrics`;
 * `smolvlmPlugin` mounts the same routes into an existing fastify app.
 */
import { Ajv } from 'ajv';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { SmolVLM } from '../model.js';
import { ServerContext, type ServerOptions } from './context.js';
import { HttpError, toOpenAIError } from './errors.js';
import { abortAll } from './generation.js';
import { chatRoutes } from './routes/chat.js';
import { completionRoutes } from './routes/completions.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelRoutes } from './routes/models.js';

export type { ServerOptions, ServerStatus } from './context.js';

/** Options of {@link smolvlmPlugin}: the model (or a promise of it, `/health` is 503 until it settles) and the server options. */
export interface SmolVLMPluginOptions extends ServerOptions {
  model: SmolVLM | Promise<SmolVLM>;
}

/** Options of {@link createServer}: the server options and fastify's logger. */
export interface CreateServerOptions extends ServerOptions {
  /** fastify's logger (pino): `true`, options, or `false` (default). */
  logger?: FastifyServerOptions['logger'];
}

/**
 * The server's routes as a fastify plugin (encapsulated: its auth, body parser, validator and error
 * handler apply to its routes only). Register it with a `prefix` to mount it under a path.
 */
export const smolvlmPlugin: FastifyPluginAsync<SmolVLMPluginOptions> = async (app, { model, ...options }) => {
  const ctx = new ServerContext(model, options);
  const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setErrorHandler((err, request, reply) => {
    const { status, headers, body } = toOpenAIError(err);
    if (status >= 500 && !(err instanceof HttpError)) request.log.error(err);
    return reply.code(status).headers(headers).send(body);
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.options.maxBodyBytes }, async (request: object, body: Buffer) => {
    const parsed = await ctx.body.parse(body);
    if (parsed.images.length > 0) ctx.images.set(request, parsed.images);
    return parsed.json;
  });

  if (options.cors !== undefined && options.cors !== false) {
    // a list is matched per request (only a listed origin is echoed back); '*' or true allows any
    const origin = options.cors === '*' ? true : typeof options.cors === 'string' ? [options.cors] : options.cors;
    await app.register(cors, { origin });
  }

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const config = request.routeOptions.config as { public?: boolean; generation?: boolean } | undefined;
    const started = performance.now();
    reply.raw.once('close', () => {
      const status = reply.raw.writableFinished ? reply.statusCode : 499;
      ctx.metrics?.request(route, status, (performance.now() - started) / 1000, config?.generation === true);
    });
    if (!ctx.keys || request.method === 'OPTIONS' || config?.public) return;
    ctx.keys.check(request.headers);
  });

  healthRoutes(app, ctx);
  modelRoutes(app, ctx);
  metricsRoutes(app, ctx);
  chatRoutes(app, ctx);
  completionRoutes(app, ctx);

  let grace: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    ctx.status = 'closing';
    if (ctx.active.size > 0) {
      grace = setTimeout(() => abortAll(ctx), ctx.options.shutdownGraceMs);
      grace.unref();
    }
  });
  app.addHook('onClose', async () => {
    clearTimeout(grace);
    await ctx.body.close();
  });
  // A response that ends while the server closes must not leave its keep-alive connection open:
  // close() waits for every connection, and an idle one would hold it for fastify's
  // keepAliveTimeout (72 s) after the last request in flight finished.
  app.addHook('onResponse', async (request) => {
    if (ctx.status === 'closing') request.raw.socket?.end();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (ctx.status === 'closing') reply.header('connection', 'close');
    return payload;
  });
};

/**
 * An OpenAI-compatible server for `model` (a loaded model, or the promise of one: `/health`
 * answers 503 until it resolves). Call `listen({ host, port })` on it (bind 127.0.0.1 unless
 * the network is trusted), `inject()` in tests, `close()` to stop: it stops accepting, lets
 * generations in flight finish for `shutdownGraceMs`, aborts the rest, then resolves. The model
 * is not disposed: it belongs to the caller.
 */
export function createServer(model: SmolVLM | Promise<SmolVLM>, options: CreateServerOptions = {}): FastifyInstance {
  const { logger, ...serverOptions } = options;
  const app = Fastify({
    logger: logger ?? false,
    bodyLimit: serverOptions.maxBodyBytes ?? 20_000_000,
    requestTimeout: serverOptions.bodyTimeoutMs ?? 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.register(smolvlmPlugin, { ...serverOptions, model });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { message: `no route ${request.method} ${request.url}`, type: 'not_found_error', param: null, code: 'not_found' } });
  });
  return app;
}
