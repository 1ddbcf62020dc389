/**
 * A generation's way back up: the engine's events -> chunks and the final result
 * (`runGeneration`), and chunks -> the async iterable `stream()` returns (`chunkStream`).
 */
import type { NativeEngine, NativeEvent, NativeGenerateParams, NativeGrammar, NativeImage } from './binding.js';
import { abortError, AbortError, fromNative, invalid, makeError } from './errors.js';
import type { GenerateResult, GenerationStream, StreamChunk } from './types.js';

/**
 * The value of a generation that the schema's grammar completed: it parses by construction
 * (stop strings cannot cut it: options.ts refuses them with a schema), so a failure is our bug.
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw makeError('ERR_INTERNAL', `the output of a completed JSON schema grammar does not parse: ${(err as Error).message}`);
  }
}

/** The result of a generation aborted before native code saw it. */
function emptyResult(): GenerateResult {
  return {
    text: '',
    finishReason: 'abort',
    usage: { promptTokens: 0, imageTokens: 0, cachedTokens: 0, completionTokens: 0, totalTokens: 0 },
    timings: { imageEncodeMs: 0, promptEvalMs: 0, promptTokensPerSecond: 0, generationMs: 0, tokensPerSecond: 0, timeToFirstTokenMs: 0, totalMs: 0 },
  };
}

/** The error of a generation aborted before it reached the engine (with an empty `result`). */
export function abortedEarly(message: string, callSite: Error): AbortError {
  const err = fromNative(abortError(message), callSite) as AbortError;
  err.result = emptyResult();
  return err;
}

/**
 * Submits one generation to the engine and settles with its result: text and, when asked for,
 * tokens and log-probabilities gathered from the events, each delta also passed to `onChunk`.
 * An error event rejects with its typed error (an abort's carries the partial result). With
 * `json`, a generation its schema's grammar ended also carries the parsed `json`.
 */
export function runGeneration(
  engine: NativeEngine,
  params: NativeGenerateParams,
  images: NativeImage[],
  {
    signal,
    onChunk,
    callSite,
    grammar = null,
    json = false,
  }: { signal?: AbortSignal; onChunk?: (c: StreamChunk) => void; callSite: Error; grammar?: NativeGrammar | null; json?: boolean },
): Promise<GenerateResult> {
  return new Promise<GenerateResult>((resolve, reject) => {
    let text = '';
    const tokens: number[] = [];
    const logprobs: number[] = [];
    let id = 0;
    const onAbort = () => engine.abort(id);
    const onEvent = (ev: NativeEvent) => {
      if (ev.text !== undefined || ev.tokens) {
        const chunk: StreamChunk = { text: ev.text ?? '' };
        text += chunk.text;
        if (ev.tokens) tokens.push(...ev.tokens), (chunk.tokens = Array.from(ev.tokens));
        if (ev.logprobs) logprobs.push(...ev.logprobs), (chunk.logprobs = Array.from(ev.logprobs));
        if (onChunk) {
          try {
            onChunk(chunk);
          } catch {
            /* a throwing consumer must not break generation */
          }
        }
      }
      if (!ev.done) return;
      signal?.removeEventListener('abort', onAbort);
      const result: GenerateResult = { text, finishReason: ev.done.finishReason, usage: ev.done.usage, timings: ev.done.timings };
      if (params.tokens) result.tokens = tokens;
      if (params.logprobs) result.logprobs = logprobs;
      if (json && result.finishReason === 'stop' && !ev.error) {
        try {
          result.json = parseJson(text);
        } catch (err) {
          reject(fromNative(err, callSite));
          return;
        }
      }
      if (ev.error) {
        const err = fromNative(makeError(ev.error.code, ev.error.message), callSite);
        if (err instanceof AbortError) err.result = result;
        reject(err);
      } else resolve(result);
    };
    try {
      id = engine.generate(params, images, onEvent, grammar);
    } catch (err) {
      reject(fromNative(err, callSite));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The stream of a generation that `start` begins with a chunk callback and an AbortSignal. At
 * most one chunk waits: a slow consumer gets larger chunks, not a growing queue.
 *
 * A stream has one consumer: a second `[Symbol.asyncIterator]()` throws an InvalidArgumentError
 * at once (two loops would each see part of the text). Leaving the loop early (`break`, `return`,
 * a throw) aborts the generation, which frees its slot; `result` then rejects with the AbortError
 * that carries the partial result. `result` never leaves an unhandled rejection when nobody reads it.
 */
export function chunkStream(start: (onChunk: (c: StreamChunk) => void, signal: AbortSignal) => Promise<GenerateResult>): GenerationStream {
  const queue: StreamChunk[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: unknown;
  let iterated = false;
  const stop = new AbortController();
  const push = (c: StreamChunk) => {
    const last = queue[queue.length - 1];
    if (last) {
      last.text += c.text;
      if (c.tokens) last.tokens = [...(last.tokens ?? []), ...c.tokens];
      if (c.logprobs) last.logprobs = [...(last.logprobs ?? []), ...c.logprobs];
    } else queue.push(c);
    wake?.();
  };
  const result = start(push, stop.signal);
  result.then(
    () => { ended = true; wake?.(); },
    (err) => { ended = true; failure = err ?? new Error('generation failed'); wake?.(); },
  );
  const finish = (): IteratorResult<StreamChunk> => {
    if (!ended) stop.abort();
    queue.length = 0;
    ended = true;
    failure = undefined;
    wake?.();
    return { done: true, value: undefined };
  };
  return {
    result,
    [Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
      if (iterated) throw invalid('a generation stream can be iterated once: read it with one for-await loop (its text is also in `result`)');
      iterated = true;
      let pending = false;
      return {
        async next(): Promise<IteratorResult<StreamChunk>> {
          if (pending) throw invalid('a generation stream: next() called again before the previous call settled');
          pending = true;
          try {
            for (;;) {
              if (queue.length > 0) return { done: false, value: queue.shift()! };
              if (ended) {
                const err = failure;
                failure = undefined;
                if (err) throw err;
                return { done: true, value: undefined };
              }
              await new Promise<void>((r) => (wake = r));
              wake = undefined;
            }
          } finally {
            pending = false;
          }
        },
        async return(): Promise<IteratorResult<StreamChunk>> {
          return finish();
        },
        async throw(err?: unknown): Promise<IteratorResult<StreamChunk>> {
          finish();
          throw err;
        },
      };
    },
  };
}
