/**
 * One generation request from admission to the last byte, shared by the chat and raw completion
 * routes: admission before the body is read (429 when full), a deadline, abort when the client
 * goes away or the server shuts down, the wait for a turn, image bytes (decoded from the body or
 * fetched through lib/net), the library's stream, and the answer, whole or as server-sent events.
 *
 * Errors before the first token (a bad image, a prompt over the context) are answered with their
 * HTTP status even for streams: the response starts only once the first token is there.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AbortError } from '../errors.js';
import type { SmolVLM } from '../model.js';
import type { GenerateRequest, GenerateResult, StreamChunk } from '../types.js';
import { fetchImage } from '../net/index.js';
import type { ServerContext } from './context.js';
import { HttpError, toOpenAIError } from './errors.js';
import type { MappedRequest, Shapes, TokenLogprob } from './openai.js';
import type { Ticket } from './queue.js';

/** Why a generation was aborted. */
class Stop extends Error {
  constructor(readonly why: 'client' | 'timeout' | 'shutdown') {
    super(`generation stopped: ${why}`);
  }
}

/** Aborts every generation in flight (shutdown, after the grace period). */
export function abortAll(ctx: ServerContext): void {
  for (const c of ctx.active) c.abort(new Stop('shutdown'));
}

interface Flight {
  ticket: Ticket;
  controller: AbortController;
  started: number;
}

const flights = new WeakMap<FastifyRequest, Flight>();

/**
 * The `preParsing` hook of the generation routes: 503 unless ready, 429 when full, else a place
 * in the queue, a deadline, and an abort when the connection closes before the response ended.
 */
export function admit(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): void {
  ctx.requireModel();
  const ticket = ctx.admission.admit();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Stop('timeout')), ctx.options.timeoutMs);
  ctx.active.add(controller);
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Stop('client'));
    clearTimeout(timer);
    ticket.release();
    ctx.active.delete(controller);
  });
  flights.set(request, { ticket, controller, started: performance.now() });
}

/** The error to answer with when `signal` stopped the generation, else `err` itself. */
function stopped(err: unknown, signal: AbortSignal, ctx: ServerContext): unknown {
  if (!signal.aborted) return err;
  const why = (signal.reason as Stop)?.why;
  if (why === 'timeout') return new HttpError(504, `the request took longer than the server's ${Math.round(ctx.options.timeoutMs / 1000)} s limit`, { code: 'timeout' });
  if (why === 'shutdown') return new HttpError(503, 'the server is shutting down', { code: 'shutting_down' });
  return new HttpError(499, 'the client closed the connection', { code: 'client_closed' });
}

async function imageBytes(ctx: ServerContext, request: FastifyRequest, mapped: MappedRequest, signal: AbortSignal): Promise<void> {
  const inline = ctx.images.get(request) ?? [];
  await Promise.all(
    mapped.images.map(async ({ part, source }) => {
      if (source.kind === 'inline') {
        const bytes = inline[source.index];
        if (!bytes) throw new HttpError(400, 'an image reference does not match the request', { code: 'invalid_image_url' });
        part.image = bytes;
        return;
      }
      const fetched = await fetchImage(source.url, {
        policy: ctx.options.remoteImages ?? false,
        maxBytes: ctx.options.maxImageBytes ?? ctx.options.maxBodyBytes,
        timeoutMs: ctx.options.imageTimeoutMs,
        signal,
        ...ctx.options.imageFetch,
      });
      part.image = fetched.data;
    }),
  );
}

/** Token ids -> each token's text, with its log-probability. */
async function logprobEntries(model: SmolVLM, tokens: number[] | undefined, logprobs: number[] | undefined): Promise<TokenLogprob[]> {
  if (!tokens || !logprobs) return [];
  const pieces = new Map<number, Promise<string>>();
  for (const t of tokens) if (!pieces.has(t)) pieces.set(t, model.detokenize([t]));
  const text = await Promise.all(tokens.map((t) => pieces.get(t)!));
  return tokens.map((_, i) => ({ token: text[i], logprob: logprobs[i] }));
}

const sse = (o: object) => `data: ${JSON.stringify(o)}\n\n`;

/**
 * Runs a mapped request and answers it. Call from a route handler whose `preParsing` ran
 * {@link admit}. Resolves with the body (non-streaming) or after handing the reply a stream.
 */
export async function runGeneration(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, mapped: MappedRequest, shapes: Shapes): Promise<unknown> {
  const flight = flights.get(request);
  if (!flight) throw new Error('runGeneration without admission');
  const { signal } = flight.controller;
  const model = ctx.requireModel();
  if (mapped.images.some((i) => i.source.kind === 'remote') && !ctx.options.remoteImages) {
    throw new HttpError(400, 'remote image URLs are disabled on this server: send images as data: URLs (base64), or start it with --allow-remote-images', {
      param: 'messages',
      code: 'remote_images_disabled',
    });
  }
  let stream: ReturnType<SmolVLM['stream']>;
  let iterator: AsyncIterator<StreamChunk>;
  let first: IteratorResult<StreamChunk>;
  try {
    await flight.ticket.turn(signal);
    await imageBytes(ctx, request, mapped, signal);
    const base = mapped.messages ? { messages: mapped.messages } : { prompt: mapped.prompt! };
    const generate: GenerateRequest = {
      ...base,
      ...mapped.sampling,
      signal,
      ...(mapped.logprobs ? { tokens: true, logprobs: true } : {}),
      image: { maxPixels: ctx.options.maxImagePixels, remote: false, allowFiles: false }, // bytes only: fetched above under the server's own policy
    };
    stream = model.stream(generate);
    // tokens count once per generation, aborted ones included, however the response ends
    stream.result.then(
      (r) => ctx.metrics?.usage(r),
      (e) => e instanceof AbortError && e.result && ctx.metrics?.usage(e.result),
    );
    iterator = stream[Symbol.asyncIterator]();
    first = await iterator.next();
  } catch (err) {
    throw stopped(err, signal, ctx);
  }
  if (!first.done) ctx.metrics?.firstToken(request.routeOptions.url ?? 'unmatched', (performance.now() - flight.started) / 1000);

  if (!mapped.stream) {
    let result: GenerateResult;
    try {
      result = await stream.result;
    } catch (err) {
      throw stopped(err, signal, ctx);
    }
    const entries = mapped.logprobs ? await logprobEntries(model, result.tokens, result.logprobs) : undefined;
    return shapes.full(result, entries);
  }

  const includeUsage = mapped.includeUsage;
  async function* events(): AsyncGenerator<string> {
    try {
      const start = shapes.start(includeUsage);
      if (start) yield sse(start);
      for (let r = first; !r.done; r = await iterator.next()) {
        const lp = mapped.logprobs ? await logprobEntries(model, r.value.tokens, r.value.logprobs) : undefined;
        if (r.value.text.length > 0 || (lp && lp.length > 0)) yield sse(shapes.delta(r.value.text, includeUsage, lp));
      }
      const result = await stream.result;
      yield sse(shapes.finish(result, includeUsage));
      if (includeUsage) yield sse(shapes.usage(result));
      yield 'data: [DONE]\n\n';
    } catch (err) {
      const why = stopped(err, signal, ctx);
      if (why instanceof HttpError && why.status === 499) return; // nobody is listening
      if (!(why instanceof HttpError)) request.log.error(err);
      yield sse(toOpenAIError(why).body); // OpenAI's clients raise an error for an `error` event
    }
  }
  reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').header('x-accel-buffering', 'no');
  return reply.send(Readable.from(events()));
}
