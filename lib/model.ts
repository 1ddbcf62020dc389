/**
 * The public model object: load, generate, stream, tokenize, dispose. Thin: it validates input,
 * maps options onto the native boundary (binding.ts), and owns lifecycles.
 */
import { availableParallelism } from 'node:os';
import type {
  ImageCacheStats, NativeAddon, NativeDone, NativeEngine, NativeEngineOptions, NativeEvent, NativeGenerateParams, NativeImage, NativeLoadOptions,
  NativeModel, NativeModelInfo,
} from './binding.js';
import { native } from './binding.js';
import { expandVideos, flattenMessages, type ChatMessage, type ImagePart } from './chat.js';
import { AbortError, DisposedError, fromNative, invalid, makeError, SmolVLMError } from './errors.js';
import { GPU_RESERVE, isGpu, placement, planLoad, type GpuBudget } from './fit.js';
import type { HubOptions } from './hub.js';
import { parseBytes, withTotals, type MemoryEstimate, type MemoryUsage } from './memory.js';
import { resolveModelFiles } from './registry.js';
import { decodeImage, type ImageInput, type ImageOptions } from './images.js';

/** KV cache element types (ggml type ids). */
const KV_TYPES = { f32: 0, f16: 1, q4_0: 2, q8_0: 8, bf16: 30 } as const;
export type KvCacheType = keyof typeof KV_TYPES;

export interface LoadModelOptions {
  /**
   * A known model name (`'SmolVLM-256M-Instruct'`, see `KNOWN_MODELS`, optionally `:quant`), a
   * hub reference `'org/repo[:quant]'` (downloaded once into the Hugging Face cache), or a
   * path to a language model .gguf file.
   */
  model: string;
  /** Path to the vision projector (mmproj) GGUF; implied for hub models. Without it the model reads text only. */
  mmproj?: string;
  /** Hub settings for downloads: endpoint, token, cacheDir, offline, onProgress (defaults from HF_* variables). */
  hub?: HubOptions;
  /** Tokens the KV cache holds, shared by all parallel sequences. Default 4096. */
  contextSize?: number;
  /** Sequences decoded together (continuous batching). Default 1. */
  parallel?: number;
  /** Largest number of tokens submitted to one decode. Default 2048. */
  batchSize?: number;
  /** Physical micro-batch size. Default 512. */
  ubatchSize?: number;
  /** CPU threads for decoding and image encoding. Default `os.availableParallelism()`. */
  threads?: number;
  /**
   * GPU offload. `'auto'` (default): as many layers as fit each GPU's free memory less 1 GiB,
   * projector included (it moves to the CPU only if not even zero layers leave room for it);
   * the CPU when there is no GPU. `{ memory: '2GB' }`: the same fit within that many bytes per
   * GPU. `true`: all layers, unchecked. `false`: CPU only. `{ layers: n }`: n layers (-1 = all).
   * `info.gpuLayers` tells what was chosen.
   */
  gpu?: 'auto' | boolean | { layers: number } | { memory: number | string };
  /** Keep the projector on the GPU when one is used. Default true. */
  projectorOnGpu?: boolean;
  /** Flash attention: `'auto'`, `true` or `false`. Default `'auto'` (llama.cpp's choice). */
  flashAttention?: 'auto' | boolean;
  /** KV cache element type; `q8_0` halves its memory. Default `'f16'`. */
  kvCacheType?: KvCacheType;
  /** Memory-map the weights. Default: llama.cpp's choice (mmap where supported). */
  useMmap?: boolean;
  /** Lock the weights in RAM. Default false. */
  useMlock?: boolean;
  /** Lower bound of image tokens for dynamic-resolution projectors. Default from the projector. */
  imageMinTokens?: number;
  /** Upper bound of image tokens for dynamic-resolution projectors. Default from the projector. */
  imageMaxTokens?: number;
  /** Reserve the projector's compute buffers at load time. Default true. */
  warmup?: boolean;
  /**
   * Encoded images kept for reuse (keyed by content hash): a second question about an image
   * skips the vision encoder. `false` disables it. Default `{ maxBytes: 32 MiB }`.
   */
  imageCache?: false | { maxBytes?: number };
  /**
   * Memory budget (bytes, or a string like `'1.5GB'`) for weights, KV cache, compute buffers and
   * projector. The largest context up to `contextSize` that fits is used (see `info.contextSize`);
   * if none does, loading fails before allocating with an {@link InsufficientMemoryError}.
   */
  memoryLimit?: number | string;
  /** Called with load progress in [0, 1]. */
  onProgress?: (progress: number) => void;
  /** Aborts the load; the promise rejects with an {@link AbortError}. */
  signal?: AbortSignal;
}

export interface SamplingOptions {
  /** Tokens to generate at most (>= 1). Default 512. */
  maxTokens?: number;
  /** 0 = greedy (deterministic). Default 0. */
  temperature?: number;
  /** Default 40 (only with temperature > 0). */
  topK?: number;
  /** Default 0.95 (only with temperature > 0). */
  topP?: number;
  /** Default 0.05 (only with temperature > 0). */
  minP?: number;
  /** 1 = off. Default 1. */
  repeatPenalty?: number;
  /** Tokens the repeat penalty looks back over; -1 = the whole context. Default 64. */
  repeatLastN?: number;
  /** Sampling seed. Default random. */
  seed?: number;
  /** Never stop at the end-of-generation token (fixed-length runs, benchmarks). Default false. */
  ignoreEos?: boolean;
  /** Generation ends before any of these strings; they are not part of the text. */
  stop?: string[];
  /** Include token ids in chunks and the result. Default false. */
  tokens?: boolean;
  /** Include each token's log-probability. Default false. */
  logprobs?: boolean;
  /** Aborts the generation; rejects with an {@link AbortError} whose `result` holds the partial answer. */
  signal?: AbortSignal;
  /** Image decoding options. */
  image?: ImageOptions;
}

export interface ChatRequest extends SamplingOptions {
  /** Messages rendered with the model's chat template; image parts become image tokens. */
  messages: ChatMessage[];
}

export interface RawRequest extends SamplingOptions {
  /** A prompt used as is (special tokens parsed); one image per media marker (`info.mediaMarker`). */
  prompt: string;
  images?: ImageInput[];
  /** Add the BOS token. Default true. */
  addSpecial?: boolean;
}

export type GenerateRequest = ChatRequest | RawRequest;

export interface StreamChunk {
  /** New text; never splits a character. */
  text: string;
  tokens?: number[];
  logprobs?: number[];
}

export interface GenerateResult {
  text: string;
  /** `stop`: end-of-generation token or stop string; `length`: maxTokens or context; `abort`. */
  finishReason: 'stop' | 'length' | 'abort';
  usage: NativeDone['usage'];
  timings: NativeDone['timings'];
  tokens?: number[];
  logprobs?: number[];
}

export type ModelInfo = NativeModelInfo & {
  contextSize: number;
  /** Wall-clock time `loadModel` took (model, projector, context). */
  loadTimeMs: number;
  /** The contextSize asked for, when `memoryLimit` made it smaller. */
  requestedContextSize?: number;
  parallel: number;
  cpuVariant: string;
  /** Layers offloaded to the GPU (repeating layers + output layer; 0 without a GPU). */
  gpuLayers: number;
  /** Whether the projector runs on the GPU. */
  projectorOnGpu: boolean;
};

/** A stream of chunks that is also a handle on the final result. */
export interface GenerationStream extends AsyncIterable<StreamChunk> {
  /** Settles when generation ends (rejects like `generate`). */
  readonly result: Promise<GenerateResult>;
}

function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer in [${min}, ${max}]`);
}
function checkNum(name: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw invalid(`${name} must be a number in [${min}, ${max}]`);
}

function abortError(message: string): AbortError {
  return new AbortError('ERR_ABORTED', message);
}

/** The result of a generation aborted before native code saw it. */
function emptyResult(): GenerateResult {
  return {
    text: '',
    finishReason: 'abort',
    usage: { promptTokens: 0, imageTokens: 0, completionTokens: 0, totalTokens: 0 },
    timings: { imageEncodeMs: 0, promptEvalMs: 0, promptTokensPerSecond: 0, generationMs: 0, tokensPerSecond: 0, timeToFirstTokenMs: 0, totalMs: 0 },
  };
}

function abortedEarly(message: string, callSite: Error): AbortError {
  const err = fromNative(abortError(message), callSite) as AbortError;
  err.result = emptyResult();
  return err;
}

const INT32_MAX = 0x7fffffff;

/** Checks every load option; one place for loadModel and estimateMemory. */
function validateLoadOptions(options: LoadModelOptions, fn: string): void {
  if (!options || typeof options !== 'object') throw invalid(`${fn}: options object expected`);
  if (typeof options.model !== 'string' || options.model.length === 0) throw invalid(`${fn}: options.model must be a path to a .gguf file`);
  if (options.mmproj !== undefined && (typeof options.mmproj !== 'string' || options.mmproj.length === 0)) throw invalid(`${fn}: options.mmproj must be a path`);
  checkInt('contextSize', options.contextSize, 16, 1 << 24);
  checkInt('parallel', options.parallel, 1, 256);
  checkInt('batchSize', options.batchSize, 1, 1 << 20);
  checkInt('ubatchSize', options.ubatchSize, 1, 1 << 20);
  checkInt('threads', options.threads, 1, 1024);
  checkInt('imageMinTokens', options.imageMinTokens, 1, 1 << 20);
  checkInt('imageMaxTokens', options.imageMaxTokens, 1, 1 << 20);
  const parallel = options.parallel ?? 1;
  if (parallel > (options.batchSize ?? 2048) || parallel > (options.contextSize ?? 4096)) {
    throw invalid('parallel must not exceed batchSize or contextSize: each step decodes one token per sequence');
  }
  const gpu = options.gpu;
  if (gpu !== undefined && gpu !== 'auto' && typeof gpu !== 'boolean') {
    if (typeof gpu !== 'object' || gpu === null) throw invalid("gpu must be 'auto', a boolean, { layers } or { memory }");
    const layers = 'layers' in gpu ? gpu.layers : undefined;
    const memory = 'memory' in gpu ? gpu.memory : undefined;
    if ((layers === undefined) === (memory === undefined)) throw invalid('gpu needs one of layers (-1 = all) or memory (bytes per GPU)');
    checkInt('gpu.layers', layers, -1, 100_000);
    if (memory !== undefined) parseBytes(memory, 'gpu.memory');
  }
  if (options.memoryLimit !== undefined) parseBytes(options.memoryLimit);
  if (options.imageCache !== undefined && options.imageCache !== false) checkInt('imageCache.maxBytes', options.imageCache.maxBytes, 0);
  if (options.kvCacheType !== undefined && !(options.kvCacheType in KV_TYPES)) throw invalid(`kvCacheType must be one of ${Object.keys(KV_TYPES).join(', ')}`);
  if (/^q/.test(options.kvCacheType ?? '') && options.flashAttention === false) {
    throw invalid(`kvCacheType '${options.kvCacheType}' needs flash attention (llama.cpp cannot quantize the V cache without it)`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress must be a function');
}

/**
 * Loads a model (and its projector) off the JS thread and prepares an engine for it.
 * @throws ModelLoadError, ProjectorMismatchError, AbortError, InvalidArgumentError
 */
export async function loadModel(options: LoadModelOptions): Promise<SmolVLM> {
  const callSite = new Error();
  const signal = options?.signal;
  if (signal?.aborted) throw fromNative(abortError('model load aborted before it started'), callSite);
  const started = performance.now();
  const addon = native();
  const { load, engine: engineOptions, gpuPresent } = await prepareLoad(options, 'loadModel', addon, callSite);
  const onProgress = options.onProgress;
  const task = addon.loadModel(
    load,
    onProgress
      ? (p) => {
          try {
            onProgress(p);
          } catch {
            /* a throwing callback must not take the process down (it runs from a native callback) */
          }
        }
      : undefined,
  );
  const onAbort = () => task.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let nativeModel: NativeModel;
  try {
    nativeModel = await task.promise;
  } catch (err) {
    throw fromNative(err, callSite);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  let engine: NativeEngine;
  try {
    if (signal?.aborted) throw abortError('model load aborted');
    engine = await nativeModel.createEngine(engineOptions);
  } catch (err) {
    await nativeModel.dispose();
    throw fromNative(err, callSite);
  }
  const requested = options.contextSize ?? 4096;
  return new SmolVLM(nativeModel, engine, {
    cpuVariant: addon.backendInfo().cpuVariant,
    loadTimeMs: performance.now() - started,
    requestedContextSize: engineOptions.contextSize !== requested ? requested : undefined,
    ...placement(load, nativeModel.info().layers, gpuPresent),
  });
}

/**
 * What loadModel and estimateMemory share: validation, resolving the model reference (a hub
 * download when needed), the mapping to native options, and fitting them to `memoryLimit` and
 * the GPUs (lib/fit.ts), so an estimate describes exactly what a load allocates.
 */
async function prepareLoad(
  options: LoadModelOptions,
  fn: string,
  addon: NativeAddon,
  callSite: Error,
): Promise<{ load: NativeLoadOptions; engine: NativeEngineOptions; estimate?: MemoryEstimate; gpuPresent: boolean }> {
  try {
    validateLoadOptions(options, fn);
    const files = await resolveModelFiles(options.model, options.mmproj, { signal: options.signal, ...options.hub });
    const gpuPresent = addon.backendInfo().devices.some(isGpu);
    const { load, engine } = nativeOptions({ ...options, ...files }, gpuPresent);
    const gpu = options.gpu ?? 'auto';
    const gpuFit: GpuBudget | undefined = !gpuPresent
      ? undefined
      : gpu === 'auto'
        ? { reserve: GPU_RESERVE }
        : typeof gpu === 'object' && 'memory' in gpu
          ? { memory: parseBytes(gpu.memory, 'gpu.memory'), reserve: 0 }
          : undefined;
    const memoryLimit = options.memoryLimit === undefined ? undefined : parseBytes(options.memoryLimit);
    if (memoryLimit === undefined && !gpuFit) return { load, engine, gpuPresent };
    return { ...(await planLoad(addon, load, engine, { memoryLimit, gpu: gpuFit })), gpuPresent };
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/** The native options for `options`: one mapping for loading, estimating and fitting. */
function nativeOptions(options: LoadModelOptions, gpuPresent: boolean): { load: NativeLoadOptions; engine: NativeEngineOptions } {
  const gpu = options.gpu ?? 'auto';
  const gpuLayers = typeof gpu === 'object' ? ('layers' in gpu ? gpu.layers : -1) : gpu === true || (gpu === 'auto' && gpuPresent) ? -1 : 0;
  const threads = options.threads ?? availableParallelism();
  const flashAttn = options.flashAttention === undefined || options.flashAttention === 'auto' ? -1 : options.flashAttention ? 1 : 0;
  const kv = KV_TYPES[options.kvCacheType ?? 'f16'];
  return {
    load: {
      model: options.model,
      mmproj: options.mmproj ?? '',
      gpuLayers,
      useMmap: options.useMmap ?? 'auto',
      useMlock: options.useMlock ?? false,
      mmprojGpu: options.projectorOnGpu ?? true,
      useGpu: gpu !== false,
      threads,
      imageMinTokens: options.imageMinTokens ?? -1,
      imageMaxTokens: options.imageMaxTokens ?? -1,
      flashAttn,
      warmup: options.warmup ?? true,
      imageCacheBytes: options.imageCache === false ? 0 : options.imageCache?.maxBytes ?? 32 * 1024 * 1024,
    },
    engine: {
      contextSize: options.contextSize ?? 4096,
      parallel: options.parallel ?? 1,
      batchSize: options.batchSize ?? 2048,
      ubatchSize: options.ubatchSize ?? 512,
      threads,
      threadsBatch: threads,
      flashAttn,
      typeK: kv,
      typeV: kv,
    },
  };
}

/**
 * What loading `options` would take, per device: weights, KV cache, compute buffers, projector,
 * from llama.cpp's own allocation-free dry run, with each device's free and total memory.
 */
export async function estimateMemory(options: LoadModelOptions): Promise<LoadEstimate> {
  const callSite = new Error();
  const addon = native();
  const { load, engine, estimate } = await prepareLoad(options, 'estimateMemory', addon, callSite);
  try {
    const est = estimate ?? withTotals(await addon.estimateMemory(load, engine));
    const layers = est.layers ?? 0;
    const onGpu = est.devices.some(isGpu);
    return {
      ...est,
      contextSize: engine.contextSize ?? 4096,
      ...placement(load, layers, onGpu),
    };
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/** What `estimateMemory` reports: the breakdown and the settings it was computed for (after fitting). */
export interface LoadEstimate extends MemoryEstimate {
  /** The context loading would create (smaller than asked when `memoryLimit` requires it). */
  contextSize: number;
  /** Layers offloaded to the GPU (repeating layers + output layer; 0 without a GPU). */
  gpuLayers: number;
  projectorOnGpu: boolean;
}

/** A loaded SmolVLM model. Create with {@link loadModel}; release with {@link SmolVLM.dispose}. */
export class SmolVLM implements AsyncDisposable {
  /** Model metadata: architecture, sizes, chat template, vision details, context. */
  readonly info: ModelInfo;
  #model: NativeModel;
  #engine: NativeEngine;
  #inflight = new Set<Promise<unknown>>();
  #disposing?: Promise<void>;

  /** @internal use {@link loadModel} */
  constructor(model: NativeModel, engine: NativeEngine, extra: { cpuVariant: string; loadTimeMs: number; requestedContextSize?: number; gpuLayers: number; projectorOnGpu: boolean }) {
    this.#model = model;
    this.#engine = engine;
    const e = engine.info();
    this.info = Object.freeze({
      ...model.info(),
      contextSize: e.contextSize,
      ...(extra.requestedContextSize !== undefined ? { requestedContextSize: extra.requestedContextSize } : {}),
      parallel: e.parallel,
      cpuVariant: extra.cpuVariant,
      loadTimeMs: extra.loadTimeMs,
      gpuLayers: extra.gpuLayers,
      projectorOnGpu: extra.projectorOnGpu,
    });
  }

  /** Memory in use: per-device weights, KV cache and compute buffers, projector, image cache, RSS. */
  memory(): MemoryUsage {
    this.#live();
    const est = withTotals({ devices: this.#engine.info().memory.devices, projector: this.#model.projectorMemory() });
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
    const flat = flattenMessages(messages, this.info.mediaMarker);
    return this.#model.applyTemplate(flat.messages, true);
  }

  /** Text -> token ids (special tokens parsed when `special`). */
  async tokenize(text: string, options: { addSpecial?: boolean; special?: boolean } = {}): Promise<number[]> {
    const callSite = new Error();
    this.#live();
    if (typeof text !== 'string') throw invalid('tokenize: text must be a string');
    try {
      return Array.from(await this.#track(this.#model.tokenize(text, options.addSpecial ?? false, options.special ?? true)));
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
      return await this.#track(this.#model.detokenize(Int32Array.from(tokens), options.special ?? true));
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
    const queue: StreamChunk[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    // At most one chunk waits: a slow consumer gets larger chunks, not a growing queue.
    const push = (c: StreamChunk) => {
      const last = queue[queue.length - 1];
      if (last) {
        last.text += c.text;
        if (c.tokens) last.tokens = [...(last.tokens ?? []), ...c.tokens];
        if (c.logprobs) last.logprobs = [...(last.logprobs ?? []), ...c.logprobs];
      } else queue.push(c);
      wake?.();
    };
    const result = this.#run(request, push, new Error());
    result.then(
      () => { ended = true; wake?.(); },
      (err) => { ended = true; failure = err; wake?.(); },
    );
    return {
      result,
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (queue.length > 0) {
            yield queue.shift()!;
            continue;
          }
          if (ended) {
            if (failure) throw failure;
            return;
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
    };
  }

  #run(request: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error): Promise<GenerateResult> {
    const p = this.#generate(request, onChunk, callSite);
    p.catch(() => {}); // a stream's consumer may only iterate; the rejection is still delivered to `result`
    return this.#track(p);
  }

  async #generate(request: GenerateRequest, onChunk: ((c: StreamChunk) => void) | undefined, callSite: Error): Promise<GenerateResult> {
    this.#live();
    if (!request || typeof request !== 'object') throw fromNative(invalid('generate: request object expected'), callSite);
    checkInt('maxTokens', request.maxTokens, 1, INT32_MAX);
    checkNum('temperature', request.temperature, 0, 100);
    checkInt('topK', request.topK, 0, INT32_MAX);
    checkNum('topP', request.topP, 0, 1);
    checkNum('minP', request.minP, 0, 1);
    checkNum('repeatPenalty', request.repeatPenalty, 0.01, 100);
    checkInt('repeatLastN', request.repeatLastN, -1, INT32_MAX);
    checkInt('seed', request.seed, 0, 0xffffffff);
    if (request.stop !== undefined && (!Array.isArray(request.stop) || request.stop.some((s) => typeof s !== 'string' || s.length === 0))) {
      throw fromNative(invalid('stop must be an array of non-empty strings'), callSite);
    }
    const signal = request.signal;
    if (signal?.aborted) throw abortedEarly('generation aborted before it started', callSite);

    const { prompt, images } = await this.#prepare(request, callSite);
    this.#live();
    if (signal?.aborted) throw abortedEarly('generation aborted while its images were decoded', callSite);

    const params: NativeGenerateParams = {
      prompt,
      addSpecial: 'addSpecial' in request ? request.addSpecial ?? true : true,
      parseSpecial: true,
      maxTokens: request.maxTokens ?? 512,
      temperature: request.temperature ?? 0,
      topK: request.topK ?? 40,
      topP: request.topP ?? 0.95,
      minP: request.minP ?? 0.05,
      repeatPenalty: request.repeatPenalty ?? 1,
      repeatLastN: request.repeatLastN === -1 ? this.info.contextSize : request.repeatLastN ?? 64,
      seed: request.seed ?? Math.floor(Math.random() * 0xffffffff),
      ignoreEos: request.ignoreEos ?? false,
      stop: request.stop ?? [],
      tokens: request.tokens ?? false,
      logprobs: request.logprobs ?? false,
    };
    return new Promise<GenerateResult>((resolve, reject) => {
      let text = '';
      const tokens: number[] = [];
      const logprobs: number[] = [];
      let id = 0;
      const onAbort = () => this.#engine.abort(id);
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
        if (request.tokens) result.tokens = tokens;
        if (request.logprobs) result.logprobs = logprobs;
        if (ev.error) {
          const err = fromNative(makeError(ev.error.code, ev.error.message), callSite);
          if (err instanceof AbortError) err.result = result;
          reject(err);
        } else resolve(result);
      };
      try {
        id = this.#engine.generate(params, images, onEvent);
      } catch (err) {
        reject(fromNative(err, callSite));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Renders the request and decodes its images (sharp, off the JS thread). */
  async #prepare(request: GenerateRequest, callSite: Error): Promise<{ prompt: string; images: NativeImage[] }> {
    let prompt: string;
    let inputs: ImagePart[];
    let cleanup = async () => {};
    try {
      if ('messages' in request) {
        const expanded = await expandVideos(request.messages, { untiledFrames: this.info.vision?.resolutionControl ?? false });
        cleanup = expanded.cleanup;
        const flat = flattenMessages(expanded.messages, this.info.mediaMarker);
        prompt = this.#model.applyTemplate(flat.messages, true);
        inputs = flat.images;
      } else if (typeof request.prompt === 'string') {
        prompt = request.prompt;
        if (request.images !== undefined && !Array.isArray(request.images)) throw invalid('images must be an array');
        inputs = (request.images ?? []).map((image) => ({ type: 'image', image }));
        const markers = prompt.split(this.info.mediaMarker).length - 1;
        if (markers !== inputs.length) throw invalid(`the prompt has ${markers} media markers but ${inputs.length} images were given`);
      } else {
        throw invalid('request needs `messages` or `prompt`');
      }
      if (prompt.length === 0) throw invalid('the prompt is empty');
      if (inputs.length > 0 && !this.info.hasVision) {
        throw makeError('ERR_NO_VISION', 'this model was loaded without a projector (mmproj): it cannot see images');
      }
    } catch (err) {
      await cleanup();
      throw fromNative(err, callSite);
    }
    try {
      const images = await Promise.all(
        inputs.map(async (part, i) => {
          const longestEdge = part.longestEdge ?? request.image?.longestEdge;
          const tiling = part.tiling ?? request.image?.tiling;
          const where = `image ${i + 1}`;
          if (longestEdge !== undefined && !(Number.isInteger(longestEdge) && longestEdge > 0)) throw invalid(`${where}: longestEdge must be a positive integer number of pixels`);
          if (tiling !== undefined && typeof tiling !== 'boolean') throw invalid(`${where}: tiling must be a boolean`);
          const decoded = await decodeImage(part.image, { signal: request.signal, ...request.image });
          return { ...decoded, longestEdge: longestEdge ?? 0, tiling: tiling ?? true };
        }),
      );
      return { prompt, images };
    } catch (err) {
      throw fromNative(err, callSite);
    } finally {
      await cleanup();
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
      const addSpecial = 'addSpecial' in request ? request.addSpecial ?? true : true;
      const { total, image } = await this.#track(this.#model.countTokens(prompt, images, addSpecial));
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

export { SmolVLMError };
