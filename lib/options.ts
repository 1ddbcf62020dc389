/**
 * Options: every default (the one `DEFAULTS` object, which validation, the native mapping, the
 * CLI help and the TSDoc use), the checks of load and sampling options, and the mapping of JS
 * options onto the native boundary (lib/binding.ts), where every field is sent: native code keeps
 * no defaults.
 *
 * Longer than 400 lines on purpose: the defaults, their limits, the checks and the native mapping
 * of each option sit together, so that adding an option touches one file and the compiler check
 * of KNOWN_KEYS against the types sees them all.
 */
import { availableParallelism } from 'node:os';
import type { NativeEngineOptions, NativeGenerateParams, NativeImage, NativeLoadOptions } from './binding.js';
import { invalid } from './errors.js';
import { checkedObject } from './keys.js';
import { nativeLoraOptions, nativeLoraSet, validateLoraSelection } from './lora.js';
import { nativeRpcEndpoints } from './rpc.js';
import { parseBytes } from './memory.js';
import type {
  ChatRequest, GenerateRequest, HubOptions, ImageFetchOptions, ImageOptions, ImagePart, ImageResolution, KvCacheType, LoadModelOptions, LoraInfo, RawRequest, TextPart, VideoPart,
} from './types.js';

/** Every default of the library's options, written once. */
export const DEFAULTS = Object.freeze({
  // loading (LoadModelOptions)
  contextSize: 4096,
  parallel: 1,
  batchSize: 2048,
  ubatchSize: 512,
  /** `os.availableParallelism()`, read at each load. */
  get threads(): number {
    return availableParallelism();
  },
  gpu: 'auto',
  projectorOnGpu: true,
  flashAttention: 'auto',
  kvCacheType: 'f16',
  /** llama.cpp's choice: mmap, unless a device cannot map files (integrated GPUs, OpenCL). */
  useMmap: 'auto' as boolean | 'auto',
  useMlock: false,
  warmup: true,
  imageCacheBytes: 32 * 1024 * 1024,
  promptCache: true,
  /** How long connecting to each `rpc` endpoint may take before the load fails (ms). */
  rpcConnectTimeoutMs: 5000,
  kvUnified: true,
  // generating (SamplingOptions, RawRequest)
  maxTokens: 512,
  temperature: 0,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  repeatLastN: 64,
  ignoreEos: false,
  tokens: false,
  logprobs: false,
  addSpecial: true,
  // images (ImageResolution, ImageOptions) and video parts (VideoPart)
  tiling: true,
  image: Object.freeze({
    background: '#ffffff',
    /**
     * 8192² (67 MP), four times the 2048-pixel side SmolVLM scales every image to: checked from
     * the header, before decoding (a 16000² PNG is refused at once instead of 9 s and 2.3 GB).
     */
    maxPixels: 8192 * 8192,
    /** Public hosts only (resolved addresses checked, redirects re-checked); see ImageOptions.remote. */
    remote: 'public' as 'public' | 'any' | false,
    /** Paths and `file:` URLs are read (the library trusts its caller; the server sends bytes only). */
    allowFiles: true,
    maxDownloadBytes: 50_000_000,
    timeoutMs: 30_000,
    allowSvg: false,
    /** Redirects an image download follows at most (image.fetch.maxRedirects), each checked again. */
    maxRedirects: 5,
  }),
  video: Object.freeze({ maxFrames: 50, timestamps: true }),
  // SmolVLM.tokenize / detokenize
  tokenize: Object.freeze({ addSpecial: false, special: true }),
} as const);

/** The contract's sentinels: how "not set" is said to native code. */
const NATIVE = Object.freeze({ allLayers: -1, projectorTokens: -1, projectorEdge: 0, noProjector: '', flashAuto: -1 });

/** KV cache element types -> ggml type ids. */
const KV_TYPES: Readonly<Record<KvCacheType, number>> = Object.freeze({ f32: 0, f16: 1, q4_0: 2, q8_0: 8, bf16: 30 });

/** Whether llama.cpp needs flash attention for this KV cache type (a quantized V cache). */
function isQuantizedKv(type: KvCacheType): boolean {
  return type.startsWith('q');
}

const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/**
 * The ranges of options that have no natural bound of their own (the others are written at their
 * check): documented in the README's API section.
 */
export const LIMITS = Object.freeze({
  /**
   * Most CPU threads: four per available core, at most 256. More only oversubscribes the cores
   * (each ggml thread spins between ops), which starves every other process for no speed.
   */
  get threads(): number {
    return Math.min(256, 4 * availableParallelism());
  },
  parallel: 256,
  contextSize: 1 << 24,
  /** Stop strings per request, and characters per stop string (the text stream holds back that many). */
  stopStrings: 64,
  stopLength: 1024,
  /** Images per request, video frames included. */
  images: 256,
  /** Encoded-image cache size in bytes (1 TiB). */
  imageCacheBytes: 2 ** 40,
  /** Largest `maxPixels` (sharp's `limitInputPixels` is a 32-bit count). */
  maxPixels: UINT32_MAX,
  maxDownloadBytes: 2 ** 32,
  timeoutMs: INT32_MAX,
  maxRedirects: 20,
});

/** `{ key: true }` for every key of `T`: the compiler checks such a list against the type, both ways. */
type KeysOf<T> = { readonly [K in keyof Required<T>]: true };

/** The keys each options object may have, checked against types.ts by the compiler. */
export const KNOWN_KEYS = Object.freeze({
  load: Object.keys({
    model: true, mmproj: true, hub: true, contextSize: true, parallel: true, batchSize: true, ubatchSize: true, threads: true, gpu: true,
    projectorOnGpu: true, flashAttention: true, kvCacheType: true, useMmap: true, useMlock: true, imageMinTokens: true, imageMaxTokens: true,
    warmup: true, imageCache: true, memoryLimit: true, onProgress: true, signal: true, promptCache: true, kvUnified: true, lora: true, rpc: true,
  } satisfies KeysOf<LoadModelOptions>),
  hub: Object.keys({ endpoint: true, token: true, cacheDir: true, offline: true, signal: true, onProgress: true, timeoutMs: true } satisfies KeysOf<HubOptions>),
  request: Object.keys({
    messages: true, prompt: true, images: true, addSpecial: true, maxTokens: true, temperature: true, topK: true, topP: true, minP: true,
    repeatPenalty: true, repeatLastN: true, seed: true, ignoreEos: true, stop: true, tokens: true, logprobs: true, signal: true, image: true,
    jsonSchema: true, grammar: true, lora: true,
  } satisfies KeysOf<ChatRequest & RawRequest>),
  image: Object.keys({
    longestEdge: true, tiling: true, background: true, maxPixels: true, remote: true, allowFiles: true, maxDownloadBytes: true, timeoutMs: true,
    allowSvg: true, signal: true, fetch: true,
  } satisfies KeysOf<ImageOptions>),
  imageFetch: Object.keys({ resolve: true, connectTo: true, maxRedirects: true } satisfies KeysOf<ImageFetchOptions>),
  imagePart: Object.keys({ type: true, image: true, longestEdge: true, tiling: true } satisfies KeysOf<ImagePart>),
  videoPart: Object.keys({ type: true, video: true, maxFrames: true, fps: true, timestamps: true, tiling: true, longestEdge: true } satisfies KeysOf<VideoPart>),
  textPart: Object.keys({ type: true, text: true } satisfies KeysOf<TextPart>),
  imageCache: ['maxBytes'],
});

/** Throws unless `v` is undefined or an AbortSignal (checked before anything starts). */
export function checkSignal(name: string, v: unknown): void {
  if (v !== undefined && !(v instanceof AbortSignal)) throw invalid(`${name} must be an AbortSignal`);
}

/** Throws unless `v` is undefined or an integer in [min, max]. */
export function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer in [${min}, ${max}]`);
}

/** Throws unless `v` is undefined or a finite number in [min, max]. */
export function checkNum(name: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw invalid(`${name} must be a number in [${min}, ${max}]`);
}

/** Throws unless `v` is undefined or a boolean (native code takes booleans only). */
export function checkBool(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw invalid(`${name} must be a boolean`);
}

/**
 * Checks every load option and returns a plain copy of them (nested objects copied too), the one
 * every later step reads; one place for loadModel and estimateMemory (`fn` names the caller).
 */
export function checkedLoadOptions(input: LoadModelOptions, fn: string): LoadModelOptions {
  if (!input || typeof input !== 'object') throw invalid(`${fn}: options object expected`);
  const options = checkedObject(input, KNOWN_KEYS.load, `${fn} options`);
  if (options.hub !== undefined) options.hub = checkedObject(options.hub, KNOWN_KEYS.hub, 'hub');
  if (options.imageCache !== undefined && options.imageCache !== false) {
    if (options.imageCache === null || typeof options.imageCache !== 'object') throw invalid('imageCache must be false or { maxBytes }');
    options.imageCache = checkedObject(options.imageCache, KNOWN_KEYS.imageCache, 'imageCache');
  }
  if (options.gpu !== null && typeof options.gpu === 'object') options.gpu = checkedObject(options.gpu, ['layers', 'memory'], 'gpu');
  validateLoadOptions(options, fn);
  return options;
}

/** Checks every load option of a plain options object (see {@link checkedLoadOptions}). */
export function validateLoadOptions(options: LoadModelOptions, fn: string): void {
  if (!options || typeof options !== 'object') throw invalid(`${fn}: options object expected`);
  if (typeof options.model !== 'string' || options.model.length === 0) throw invalid(`${fn}: options.model must be a path to a .gguf file`);
  if (options.mmproj !== undefined && (typeof options.mmproj !== 'string' || options.mmproj.length === 0)) throw invalid(`${fn}: options.mmproj must be a path`);
  checkInt('contextSize', options.contextSize, 16, LIMITS.contextSize);
  checkInt('parallel', options.parallel, 1, LIMITS.parallel);
  checkInt('batchSize', options.batchSize, 1, 1 << 20);
  checkInt('ubatchSize', options.ubatchSize, 1, 1 << 20);
  checkInt('threads', options.threads, 1, LIMITS.threads);
  checkSignal('signal', options.signal);
  checkInt('imageMinTokens', options.imageMinTokens, 1, 1 << 20);
  checkInt('imageMaxTokens', options.imageMaxTokens, 1, 1 << 20);
  for (const k of ['useMmap', 'useMlock', 'projectorOnGpu', 'warmup', 'promptCache', 'kvUnified'] as const) checkBool(k, options[k]);
  if (options.flashAttention !== undefined && options.flashAttention !== 'auto' && typeof options.flashAttention !== 'boolean') {
    throw invalid("flashAttention must be 'auto', true or false");
  }
  const parallel = options.parallel ?? DEFAULTS.parallel;
  if (parallel > (options.batchSize ?? DEFAULTS.batchSize) || parallel > (options.contextSize ?? DEFAULTS.contextSize)) {
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
  if (options.imageCache !== undefined && options.imageCache !== false) {
    if (options.imageCache === null || typeof options.imageCache !== 'object') throw invalid('imageCache must be false or { maxBytes }');
    checkInt('imageCache.maxBytes', options.imageCache.maxBytes, 0, LIMITS.imageCacheBytes);
  }
  if (options.kvCacheType !== undefined && !Object.hasOwn(KV_TYPES, options.kvCacheType)) {
    throw invalid(`kvCacheType must be one of ${Object.keys(KV_TYPES).join(', ')}`);
  }
  if (isQuantizedKv(options.kvCacheType ?? DEFAULTS.kvCacheType) && options.flashAttention === false) {
    throw invalid(`kvCacheType '${options.kvCacheType}' needs flash attention (llama.cpp cannot quantize the V cache without it)`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress must be a function');
  nativeLoraOptions(options.lora);
  if (nativeRpcEndpoints(options.rpc).length > 0 && options.memoryLimit !== undefined) {
    throw invalid('memoryLimit cannot be combined with rpc: the memory fit sees only this machine\'s devices');
  }
}

/**
 * A generate / stream / countTokens request checked (unknown keys, getters, the signal, the
 * sampling options, the image options) and copied: the plain object every later step reads.
 */
export function checkedRequest(input: GenerateRequest, fn: string): GenerateRequest {
  if (!input || typeof input !== 'object') throw invalid(`${fn}: request object expected`);
  const request = checkedObject(input, KNOWN_KEYS.request, `${fn} request`);
  const shape = request as Partial<ChatRequest & RawRequest>;
  if (shape.messages !== undefined && (shape.prompt !== undefined || shape.images !== undefined)) {
    throw invalid(`${fn}: give \`messages\` (images as parts) or \`prompt\` with \`images\`, not both`);
  }
  checkSignal('signal', request.signal);
  if (request.image !== undefined) request.image = checkedImageOptions(request.image, 'image');
  validateSampling(request);
  return request;
}

/** Image options checked and copied (`where` names them in messages). */
export function checkedImageOptions(input: ImageOptions, where: string): ImageOptions {
  const o = checkedObject(input, KNOWN_KEYS.image, where);
  checkInt(`${where}.maxPixels`, o.maxPixels, 1, LIMITS.maxPixels);
  checkInt(`${where}.maxDownloadBytes`, o.maxDownloadBytes, 1, LIMITS.maxDownloadBytes);
  checkInt(`${where}.timeoutMs`, o.timeoutMs, 1, LIMITS.timeoutMs);
  checkBool(`${where}.allowSvg`, o.allowSvg);
  checkBool(`${where}.allowFiles`, o.allowFiles);
  checkSignal(`${where}.signal`, o.signal);
  if (o.remote !== undefined && o.remote !== 'public' && o.remote !== 'any' && o.remote !== false) throw invalid(`${where}.remote must be 'public', 'any' or false`);
  if (o.fetch !== undefined) {
    if (o.fetch === null || typeof o.fetch !== 'object') throw invalid(`${where}.fetch must be an object { resolve?, connectTo?, maxRedirects? }`);
    const f = checkedObject(o.fetch, KNOWN_KEYS.imageFetch, `${where}.fetch`);
    for (const k of ['resolve', 'connectTo'] as const) {
      if (f[k] !== undefined && typeof f[k] !== 'function') throw invalid(`${where}.fetch.${k} must be a function`);
    }
    checkInt(`${where}.fetch.maxRedirects`, f.maxRedirects, 0, LIMITS.maxRedirects);
    o.fetch = f;
  }
  const bg = o.background;
  if (bg !== undefined && typeof bg !== 'string') {
    if (bg === null || typeof bg !== 'object') throw invalid(`${where}.background must be a colour string or { r, g, b }`);
    const rgb = checkedObject(bg, ['r', 'g', 'b', 'alpha'], `${where}.background`);
    for (const c of ['r', 'g', 'b'] as const) {
      if (rgb[c] === undefined) throw invalid(`${where}.background.${c} is missing`);
      checkInt(`${where}.background.${c}`, rgb[c], 0, 255);
    }
    o.background = rgb;
  }
  validateResolution(where, o);
  return o;
}

/** Checks the sampling options of a generate request (`request` is known to be an object). */
export function validateSampling(request: GenerateRequest): void {
  checkInt('maxTokens', request.maxTokens, 1, INT32_MAX);
  checkNum('temperature', request.temperature, 0, 100);
  checkInt('topK', request.topK, 0, INT32_MAX);
  checkNum('topP', request.topP, 0, 1);
  checkNum('minP', request.minP, 0, 1);
  checkNum('repeatPenalty', request.repeatPenalty, 0.01, 100);
  checkInt('repeatLastN', request.repeatLastN, -1, INT32_MAX);
  checkInt('seed', request.seed, 0, UINT32_MAX);
  for (const k of ['ignoreEos', 'tokens', 'logprobs'] as const) checkBool(k, request[k]);
  if ('addSpecial' in request) checkBool('addSpecial', request.addSpecial);
  if (request.stop !== undefined) {
    if (!Array.isArray(request.stop) || request.stop.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid('stop must be an array of non-empty strings');
    if (request.stop.length > LIMITS.stopStrings) throw invalid(`stop: at most ${LIMITS.stopStrings} strings, got ${request.stop.length}`);
    if (request.stop.some((s) => s.length > LIMITS.stopLength)) throw invalid(`stop: each string at most ${LIMITS.stopLength} characters`);
  }
  validateStructured(request);
  validateLoraSelection(request.lora);
}

/** Checks `jsonSchema` and `grammar` and what they cannot be combined with. */
function validateStructured(request: GenerateRequest): void {
  const { jsonSchema, grammar } = request;
  if (jsonSchema !== undefined && (typeof jsonSchema !== 'object' || jsonSchema === null || Array.isArray(jsonSchema))) {
    throw invalid('jsonSchema must be a JSON Schema object');
  }
  if (grammar !== undefined && (typeof grammar !== 'string' || grammar.trim().length === 0)) throw invalid('grammar must be a non-empty GBNF string');
  if (jsonSchema === undefined && grammar === undefined) return;
  if (jsonSchema !== undefined && grammar !== undefined) throw invalid('jsonSchema and grammar cannot be combined: give one');
  if (jsonSchema !== undefined) checkSchemaNode(jsonSchema, 'jsonSchema');
  const what = jsonSchema !== undefined ? 'jsonSchema' : 'grammar';
  if (request.ignoreEos) throw invalid(`ignoreEos cannot be combined with ${what}: the grammar decides where the output ends`);
  if (jsonSchema !== undefined && request.stop?.length) throw invalid('stop cannot be combined with jsonSchema: the schema decides where the output ends');
}

/**
 * What llama.cpp's converter would silently turn into "any value" (it only warns on stderr), refused
 * instead: a `$ref` outside the document (nothing is fetched) and a `pattern` not anchored with
 * `^...$`. One walk of the schema: microseconds even for large ones.
 */
function checkSchemaNode(node: unknown, path: string, ancestors = new Set<object>()): void {
  if (typeof node !== 'object' || node === null) return;
  if (ancestors.has(node)) throw invalid(`${path} refers back to itself: jsonSchema must be a tree (JSON cannot write a cycle)`);
  ancestors.add(node);
  if (Array.isArray(node)) node.forEach((v, i) => checkSchemaNode(v, `${path}[${i}]`, ancestors));
  else {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) {
        throw invalid(`${path}.$ref '${value}' is not supported: only references inside the schema ('#/$defs/...')`);
      }
      if (key === 'pattern' && typeof value === 'string' && !(value.startsWith('^') && value.endsWith('$'))) {
        throw invalid(`${path}.pattern '${value}' is not supported: patterns must be anchored with ^ and $`);
      }
      if (key !== 'const' && key !== 'enum' && key !== 'default' && key !== 'examples') checkSchemaNode(value, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(node);
}

/**
 * What `NativeModel.compileGrammar` takes for a validated request: the schema as JSON text or the
 * GBNF (the other ''), or undefined when the request has neither. A schema that JSON cannot
 * write (a cycle, a BigInt) is refused.
 */
export function grammarSource(request: GenerateRequest): { jsonSchema: string; gbnf: string } | undefined {
  if (request.grammar !== undefined) return { jsonSchema: '', gbnf: request.grammar };
  if (request.jsonSchema === undefined) return undefined;
  try {
    return { jsonSchema: JSON.stringify(request.jsonSchema), gbnf: '' };
  } catch (err) {
    throw invalid(`jsonSchema cannot be written as JSON: ${(err as Error).message}`);
  }
}

/** Checks one image's resolution settings; `where` names the image in the message. */
export function validateResolution(where: string, { longestEdge, tiling }: ImageResolution): void {
  if (longestEdge !== undefined && !(Number.isInteger(longestEdge) && longestEdge > 0)) throw invalid(`${where}: longestEdge must be a positive integer number of pixels`);
  if (tiling !== undefined && typeof tiling !== 'boolean') throw invalid(`${where}: tiling must be a boolean`);
}

/** The native load and engine options for validated `options` whose model reference is resolved to files. */
export function nativeOptions(options: LoadModelOptions, gpuPresent: boolean): { load: NativeLoadOptions; engine: NativeEngineOptions } {
  const gpu = options.gpu ?? DEFAULTS.gpu;
  const rpc = nativeRpcEndpoints(options.rpc);
  // with rpc-servers every layer is offloaded (to them, then any local GPU) unless `gpu.layers` says how many
  const gpuLayers =
    typeof gpu === 'object'
      ? 'layers' in gpu ? gpu.layers : NATIVE.allLayers
      : gpu === true || rpc.length > 0 || (gpu === 'auto' && gpuPresent) ? NATIVE.allLayers : 0;
  const threads = options.threads ?? DEFAULTS.threads;
  const flash = options.flashAttention ?? DEFAULTS.flashAttention;
  const kvType = options.kvCacheType ?? DEFAULTS.kvCacheType;
  // a quantized V cache needs flash attention: under 'auto' it is turned on, not left to llama.cpp,
  // which turns it off on a device without it and then fails to create the context
  const flashAttn = flash === 'auto' ? (isQuantizedKv(kvType) ? 1 : NATIVE.flashAuto) : flash ? 1 : 0;
  const kv = KV_TYPES[kvType];
  return {
    load: {
      model: options.model,
      mmproj: options.mmproj ?? NATIVE.noProjector,
      gpuLayers,
      useMmap: options.useMmap ?? DEFAULTS.useMmap,
      useMlock: options.useMlock ?? DEFAULTS.useMlock,
      mmprojGpu: options.projectorOnGpu ?? DEFAULTS.projectorOnGpu,
      useGpu: gpu !== false,
      threads,
      imageMinTokens: options.imageMinTokens ?? NATIVE.projectorTokens,
      imageMaxTokens: options.imageMaxTokens ?? NATIVE.projectorTokens,
      flashAttn,
      warmup: options.warmup ?? DEFAULTS.warmup,
      imageCacheBytes: options.imageCache === false ? 0 : options.imageCache?.maxBytes ?? DEFAULTS.imageCacheBytes,
      lora: nativeLoraOptions(options.lora),
      rpc,
      rpcTimeoutMs: DEFAULTS.rpcConnectTimeoutMs,
    },
    engine: {
      contextSize: options.contextSize ?? DEFAULTS.contextSize,
      parallel: options.parallel ?? DEFAULTS.parallel,
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      ubatchSize: options.ubatchSize ?? DEFAULTS.ubatchSize,
      threads,
      threadsBatch: threads,
      flashAttn,
      typeK: kv,
      typeV: kv,
      promptCache: options.promptCache ?? DEFAULTS.promptCache,
      kvUnified: options.kvUnified ?? DEFAULTS.kvUnified,
    },
  };
}

/** Whether the prompt gets the BOS token: `addSpecial` of a raw request, always for chat. */
export function addSpecialOf(request: GenerateRequest): boolean {
  return ('addSpecial' in request ? request.addSpecial : undefined) ?? DEFAULTS.addSpecial;
}

/**
 * The native generation parameters for a validated request and its rendered prompt; `stream`:
 * whether a consumer takes its deltas as they come (stream()) or only the result (generate()).
 */
export function nativeGenerateParams(request: GenerateRequest, prompt: string, contextSize: number, loras: readonly LoraInfo[], stream: boolean): NativeGenerateParams {
  const repeatLastN = request.repeatLastN ?? DEFAULTS.repeatLastN;
  return {
    prompt,
    addSpecial: addSpecialOf(request),
    parseSpecial: true,
    maxTokens: request.maxTokens ?? DEFAULTS.maxTokens,
    temperature: request.temperature ?? DEFAULTS.temperature,
    topK: request.topK ?? DEFAULTS.topK,
    topP: request.topP ?? DEFAULTS.topP,
    minP: request.minP ?? DEFAULTS.minP,
    repeatPenalty: request.repeatPenalty ?? DEFAULTS.repeatPenalty,
    repeatLastN: repeatLastN === -1 ? contextSize : repeatLastN,
    seed: request.seed ?? Math.floor(Math.random() * UINT32_MAX),
    ignoreEos: request.ignoreEos ?? DEFAULTS.ignoreEos,
    tokens: request.tokens ?? DEFAULTS.tokens,
    logprobs: request.logprobs ?? DEFAULTS.logprobs,
    stream,
    stop: request.stop ?? [],
    lora: nativeLoraSet(request.lora, loras),
  };
}

/** A decoded image with its resolution settings, as native code takes it. */
export function nativeImage(decoded: { data: Uint8Array; width: number; height: number; id: string }, resolution: ImageResolution): NativeImage {
  return {
    data: decoded.data,
    width: decoded.width,
    height: decoded.height,
    id: decoded.id,
    longestEdge: resolution.longestEdge ?? NATIVE.projectorEdge,
    tiling: resolution.tiling ?? DEFAULTS.tiling,
  };
}
