/**
 * The `SmolVLM` class: a loaded model and its engine, and their lifecycle. Each call checks its
 * input (options.ts), prepares the request (input/prepare.ts), hands it to native code and
 * returns what comes back (stream.ts); dispose waits for what is in flight. Loading is load.ts.
 */
import type { NativeEngine, NativeGrammar, NativeImage, NativeModel } from './binding.js';
import { DisposedError, fromNative, invalid } from './errors.js';
import { prepareRequest, renderMessages, type PreparedRequest, type PromptModel } from './input/prepare.js';
import { withTotals } from './memory.js';
import { checkedObject } from './keys.js';
import { addSpecialOf, checkBool, checkedRequest, checkInt, DEFAULTS, grammarSource, LIMITS, nativeGenerateParams } from './options.js';
import { abortedEarly, chunkStream, runGeneration } from './stream.js';
import type {
  ChatMessage, GenerateRequest, GenerateResult, GenerationStream, ImageCacheStats, MemoryUsage, ModelInfo, StreamChunk,
} from './types.js';

/** What loading found out besides the model's and the engine's own info (see load.ts). */
export interface LoadFacts {
  cpuVariant: string;
  loadTimeMs: number;
  requestedContextSize?: number;
  gpuLayers: number;
  projectorOnGpu: boolean;
}

/** A loaded SmolVLM model. Create with {@link loadModel}; release with {@link SmolVLM.dispose}. */
export class SmolVLM implements AsyncDisposable {
  /** Model metadata: architecture, sizes, chat template, vision details, context. */
  readonly info: ModelInfo;
  #model: NativeModel;
  #engine: NativeEngine;
  #prompts: PromptModel;
  #inflight = new Set<Promise<unknown>>();
  #disposing?: Promise<void>;

  /** @internal use {@link loadModel} */
  constructor(model: NativeModel, engine: NativeEngine, facts: LoadFacts) {
    this.#model = model;
    this.#engine = engine;
    const e = engine.info();
    this.info = Object.freeze({
      ...model.info(),
      contextSize: e.contextSize,
      ...(facts.requestedContextSize !== undefined ? { requestedContextSize: facts.requestedContextSize } : {}),
      parallel: e.parallel,
      cpuVariant: facts.cpuVariant,
      loadTimeMs: facts.loadTimeMs,
      gpuLayers: facts.gpuLayers,
      projectorOnGpu: facts.projectorOnGpu,
    });
    this.#prompts = { info: this.info, applyTemplate: (messages, addAssistant) => model.applyTemplate(messages, addAssistant) };
  }

  /** Memory in use: per-device weights, KV cache and compute buffers, projector, image cache, RSS. */
  memory(): MemoryUsage {
    this.#live();
    const live = this.#engine.info().memory;
    const est = withTotals({ devices: live.devices, projector: this.#model.projectorMemory(), lora: live.lora });
    return { ...est, imageCache: this.#model.imageCache().bytes, rss: process.memoryUsage.rss() };
  }

  /** True once {@link dispose} was called. */
  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  #live(): void {
    if (this.#disposing) throw new DisposedError('ERR_DISPOSED', 'model is disposed');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const drop = () => this.#inflight.delete(p);
    p.then(drop, drop);
    return p;
  }

  /** Renders chat messages to the prompt the model sees (media markers where images go). */
  formatPrompt(messages: ChatMessage[]): string {
    this.#live();
    return renderMessages(messages, this.#prompts).prompt;
  }

  /** Text -> token ids (special tokens parsed when `special`). */
  async tokenize(text: string, options: { addSpecial?: boolean; special?: boolean } = {}): Promise<number[]> {
    const callSite = new Error();
    this.#live();
    try {
      if (typeof text !== 'string') throw invalid('tokenize: text must be a string');
      const o = checkedObject(options, ['addSpecial', 'special'], 'tokenize options');
      checkBool('addSpecial', o.addSpecial);
      checkBool('special', o.special);
      const addSpecial = o.addSpecial ?? DEFAULTS.tokenize.addSpecial;
      return Array.from(await this.#track(this.#model.tokenize(text, addSpecial, o.special ?? DEFAULTS.tokenize.special)));
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /** Token ids -> text (special tokens rendered when `special`). */
  async detokenize(tokens: number[] | Int32Array, options: { special?: boolean } = {}): Promise<string> {
    const callSite = new Error();
    this.#live();
    try {
      if (!Array.isArray(tokens) && !(tokens instanceof Int32Array)) throw invalid('detokenize: tokens must be an array of ids');
      const o = checkedObject(options, ['special'], 'detokenize options');
      checkBool('special', o.special);
      const vocab = this.info.vocabSize;
      for (let i = 0; i < tokens.length; i++) {
        const t: unknown = tokens[i];
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
          throw invalid(`detokenize: tokens[${i}] is ${typeof t === 'number' ? t : typeof t}: each must be an integer id in [0, ${vocab - 1}]`);
        }
      }
      return await this.#track(this.#model.detokenize(Int32Array.from(tokens), o.special ?? DEFAULTS.tokenize.special));
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /** Encoded-image cache counters: hits, misses, encodes, evictions, bytes. */
  imageCacheStats(): ImageCacheStats {
    this.#live();
    return this.#model.imageCache();
  }

  /** Empties the encoded-image cache; `maxBytes` resizes it (0 disables). */
  clearImageCache(options: { maxBytes?: number } = {}): void {
    this.#live();
    const o = checkedObject(options, ['maxBytes'], 'clearImageCache options');
    checkInt('maxBytes', o.maxBytes, 0, LIMITS.imageCacheBytes);
    this.#model.configureImageCache(o.maxBytes, true);
  }

  /** Generates an answer. Resolves with the whole text, usage and timings. */
  generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.#run(request, undefined, new Error());
  }

  /**
   * Generates an answer as a stream of text chunks; `.result` gives the final result. Read it
   * with one loop: a second iterator throws an InvalidArgumentError at once, and leaving the loop
   * early aborts the generation (`result` then rejects with the AbortError holding the partial result).
   */
  stream(request: GenerateRequest): GenerationStream {
    const callSite = new Error();
    return chunkStream((onChunk, stop) => this.#run(request, onChunk, callSite, stop));
  }

  #run(request: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error, stop?: AbortSignal): Promise<GenerateResult> {
    const p = this.#generate(request, onChunk, callSite, stop);
    p.catch(() => {}); // a stream's consumer may only iterate; the rejection is still delivered to `result`
    return this.#track(p);
  }

  async #generate(input: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error, stop?: AbortSignal): Promise<GenerateResult> {
    this.#live();
    let request: GenerateRequest;
    try {
      request = checkedRequest(input, onChunk ? 'stream' : 'generate');
    } catch (err) {
      throw fromNative(err, callSite);
    }
    // the stream's own stop (its loop left early) aborts like the caller's signal, downloads included
    const signal = stop ? (request.signal ? AbortSignal.any([request.signal, stop]) : stop) : request.signal;
    if (stop) request.signal = signal;
    if (signal?.aborted) throw abortedEarly('generation aborted before it started', callSite);
    const grammar = await this.#compileGrammar(request, callSite);
    const { prompt, images } = await this.#prepare(request, callSite);
    this.#live();
    if (signal?.aborted) throw abortedEarly('generation aborted while its images were decoded', callSite);
    let params;
    try {
      params = nativeGenerateParams(request, prompt, this.info.contextSize, this.info.lora, onChunk !== undefined);
    } catch (err) {
      throw fromNative(err, callSite);
    }
    return runGeneration(this.#engine, params, images, { signal, onChunk, callSite, grammar, json: request.jsonSchema !== undefined });
  }

  /** The request's schema or GBNF compiled and checked off the JS thread (a bad one rejects here, before anything is queued). */
  async #compileGrammar(request: GenerateRequest, callSite: Error): Promise<NativeGrammar | null> {
    try {
      const source = grammarSource(request);
      return source ? await this.#model.compileGrammar(source.jsonSchema, source.gbnf) : null;
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  async #prepare(request: GenerateRequest, callSite: Error): Promise<PreparedRequest> {
    try {
      return await prepareRequest(request, this.#prompts);
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /**
   * Tokens the request's prompt takes, images included, without generating: to check a budget
   * or the context before asking.
   */
  async countTokens(input: GenerateRequest): Promise<{ total: number; image: number; text: number }> {
    const { total, image } = await this.#promptQuery(input, 'countTokens', new Error(), (p, i, a) => this.#model.countTokens(p, i, a));
    return { total, image, text: total - image };
  }

  /**
   * The request's prompt as the model evaluates it, without generating: the chat template
   * rendered, each image laid out as SmolVLM's processor lays it out (tiles, row markers, the
   * overview) and tokenized. Text positions hold token ids (render them with
   * {@link SmolVLM.detokenize}); each position an image embedding takes holds `-1`, where Hugging
   * Face's `input_ids` hold the `<image>` token.
   */
  async promptTokens(input: GenerateRequest): Promise<number[]> {
    return Array.from(await this.#promptQuery(input, 'promptTokens', new Error(), (p, i, a) => this.#model.promptTokens(p, i, a)));
  }

  /**
   * Checks `input` as `op`'s request, renders its prompt and decodes its images, then runs the
   * native query on them; every failure is a typed error whose stack starts at `callSite` (an
   * Error the public method made, so the stack points at the caller).
   */
  async #promptQuery<T>(input: GenerateRequest, op: 'countTokens' | 'promptTokens', callSite: Error,
    query: (prompt: string, images: NativeImage[], addSpecial: boolean) => Promise<T>): Promise<T> {
    this.#live();
    let request: GenerateRequest;
    try {
      request = checkedRequest(input, op);
    } catch (err) {
      throw fromNative(err, callSite);
    }
    const { prompt, images } = await this.#prepare(request, callSite);
    try {
      return await this.#track(query(prompt, images, addSpecialOf(request)));
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /**
   * Releases the engine and the model. Generations in flight end with a {@link DisposedError};
   * resolves once every native resource is freed. Idempotent.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      await this.#engine.dispose();
      await Promise.allSettled([...this.#inflight]);
      await this.#model.dispose();
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
