/**
 * The `SmolVLM` class: a loaded model and its engine, and their lifecycle. Each call checks its
 * input (options.ts), prepares the request (input/prepare.ts), hands it to native code and
 * returns what comes back (stream.ts); dispose waits for what is in flight. Loading is load.ts.
 */
import type { NativeEngine, NativeGrammar, NativeModel } from './binding.js';
import { DisposedError, fromNative, invalid } from './errors.js';
import { prepareRequest, renderMessages, type PreparedRequest, type PromptModel } from './input/prepare.js';
import { withTotals } from './memory.js';
import { addSpecialOf, checkInt, DEFAULTS, grammarSource, nativeGenerateParams, validateSampling } from './options.js';
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
    if (typeof text !== 'string') throw invalid('tokenize: text must be a string');
    try {
      const addSpecial = options.addSpecial ?? DEFAULTS.tokenize.addSpecial;
      return Array.from(await this.#track(this.#model.tokenize(text, addSpecial, options.special ?? DEFAULTS.tokenize.special)));
    } catch (err) {
      throw fromNative(err, callSite);
    }
  }

  /** Token ids -> text (special tokens rendered when `special`). */
  async detokenize(tokens: number[] | Int32Array, options: { special?: boolean } = {}): Promise<string> {
    const callSite = new Error();
    this.#live();
    if (!Array.isArray(tokens) && !(tokens instanceof Int32Array)) throw invalid('detokenize: tokens must be an array of ids');
    try {
      return await this.#track(this.#model.detokenize(Int32Array.from(tokens), options.special ?? DEFAULTS.tokenize.special));
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
    checkInt('maxBytes', options.maxBytes, 0);
    this.#model.configureImageCache(options.maxBytes, true);
  }

  /** Generates an answer. Resolves with the whole text, usage and timings. */
  generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.#run(request, undefined, new Error());
  }

  /** Generates an answer as a stream of text chunks; `.result` gives the final result. */
  stream(request: GenerateRequest): GenerationStream {
    const callSite = new Error();
    return chunkStream((onChunk) => this.#run(request, onChunk, callSite));
  }

  #run(request: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error): Promise<GenerateResult> {
    const p = this.#generate(request, onChunk, callSite);
    p.catch(() => {}); // a stream's consumer may only iterate; the rejection is still delivered to `result`
    return this.#track(p);
  }

  async #generate(request: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error): Promise<GenerateResult> {
    this.#live();
    try {
      if (!request || typeof request !== 'object') throw invalid('generate: request object expected');
      validateSampling(request);
    } catch (err) {
      throw fromNative(err, callSite);
    }
    const signal = request.signal;
    if (signal?.aborted) throw abortedEarly('generation aborted before it started', callSite);
    const grammar = await this.#compileGrammar(request, callSite);
    const { prompt, images } = await this.#prepare(request, callSite);
    this.#live();
    if (signal?.aborted) throw abortedEarly('generation aborted while its images were decoded', callSite);
    let params;
    try {
      params = nativeGenerateParams(request, prompt, this.info.contextSize, this.info.lora);
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
  async countTokens(request: GenerateRequest): Promise<{ total: number; image: number; text: number }> {
    const callSite = new Error();
    this.#live();
    if (!request || typeof request !== 'object') throw fromNative(invalid('countTokens: request object expected'), callSite);
    const { prompt, images } = await this.#prepare(request, callSite);
    try {
      const { total, image } = await this.#track(this.#model.countTokens(prompt, images, addSpecialOf(request)));
      return { total, image, text: total - image };
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
