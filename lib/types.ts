/**
 * The public data types: options, requests, results, model info, memory shapes, chat parts,
 * image and video inputs, backend info, hub and registry records. The bottom of the house: it
 * imports no file of this library (only sharp's `Sharp` type, one of the accepted image inputs),
 * and nothing here is derived from the addon's boundary types (lib/binding.ts builds those on
 * these), so a change to the addon's shape cannot silently change the public API.
 *
 * Defaults named here ("Default: DEFAULTS.contextSize (4096)") are the values of `DEFAULTS` in
 * lib/options.ts, the one place they are written.
 *
 * Longer than 400 lines on purpose: it is the one page of the public data shapes, most of it
 * TSDoc, in sections; split, a reader would hunt across files for what a call takes and returns.
 */
import type { Sharp } from 'sharp';

// ---------------------------------------------------------------------------------------------
// Images and video

/** Raw pixels: `data.length` must be `width * height * channels`. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 2 | 3 | 4;
}

/**
 * Anything that can be an image part: a file path or `file:` URL (with `allowFiles`), a `data:`
 * or `http(s):` URL (string or URL; see `remote`), an encoded file's bytes (Buffer, Uint8Array or
 * DataView), raw pixels, or a sharp instance.
 */
export type ImageInput = string | URL | Buffer | Uint8Array | DataView | RawImage | Sharp;

/**
 * How an image is cut into projector tiles: fewer pixels, fewer tokens. SmolVLM scales an image's
 * longest side to `info.vision.longestEdge` (2048 for 256M/500M), cuts it into tiles of
 * `info.vision.imageSize` (512) and adds a downscaled overview: a 1024x768 photo becomes 4x3
 * tiles + 1 = 832 tokens on the 256M model.
 */
export interface ImageResolution {
  /**
   * Scale the longest side to this many pixels before tiling, from one tile
   * (`info.vision.imageSize`) up to the model's default (`info.vision.longestEdge`). With 1024,
   * that photo takes 2x2 tiles + 1 = 320 tokens. At one tile's edge the image is not split, as
   * Hugging Face's processor does it: the same as `tiling: false`.
   */
  longestEdge?: number;
  /**
   * `false`: the overview only, the whole image as one tile (64 tokens on the 256M model), as
   * SmolVLM encodes images with splitting off and video frames. Default: DEFAULTS.tiling (true).
   */
  tiling?: boolean;
}

/** A resolved address, as `dns.lookup(host, { all: true })` gives them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Maps a checked address and port to the one actually connected to. */
export type ConnectTo = (checked: ResolvedAddress & { port: number }) => ResolvedAddress & { port: number };

/**
 * How image downloads resolve and connect (`image.fetch`); trusted code only, never from a user's
 * request. The `remote` policy is applied to what `resolve` answers, then the connection goes to
 * the checked address, or to where `connectTo` maps it.
 */
export interface ImageFetchOptions {
  /** Host name resolution. Default: `dns.lookup` with every address. */
  resolve?: Resolver;
  /**
   * Where to connect for an address that passed the policy, like curl's `--connect-to` (a local
   * proxy or cache in front of the public hosts, tests). Default: the checked address itself.
   */
  connectTo?: ConnectTo;
  /** Redirects followed at most, an integer in [0, 20]; each is checked again. Default: DEFAULTS.image.maxRedirects (5). */
  maxRedirects?: number;
}

export interface ImageOptions extends ImageResolution {
  /** Background for transparent images. Default: DEFAULTS.image.background (white). */
  background?: string | { r: number; g: number; b: number };
  /**
   * Largest accepted image in pixels (decompression-bomb guard), checked from the header before
   * decoding; larger images are refused with ERR_IMAGE_INVALID naming the limit. An integer in
   * [1, 2^32 - 1]. Default: DEFAULTS.image.maxPixels (8192², four times the 2048-pixel side
   * SmolVLM scales images to).
   */
  maxPixels?: number;
  /**
   * Which `http(s)` URLs are fetched: `'public'` (default, DEFAULTS.image.remote) public hosts
   * only, the host resolved and every address checked (no loopback, private, link-local, CGNAT,
   * multicast, unspecified or IPv4-mapped forms of them), redirects re-checked, the connection made
   * to the checked address; `'any'` every host (trusted input only); `false` none.
   */
  remote?: 'public' | 'any' | false;
  /** Read file paths and `file:` URLs. Default: DEFAULTS.image.allowFiles (true); false for input from users. */
  allowFiles?: boolean;
  /** Largest download in bytes. Default: DEFAULTS.image.maxDownloadBytes (50 MB). */
  maxDownloadBytes?: number;
  /** Download timeout in ms (redirects included), an integer >= 1. Default: DEFAULTS.image.timeoutMs (30000). */
  timeoutMs?: number;
  /** Decode SVG (it can reference external resources). Default: DEFAULTS.image.allowSvg (false). */
  allowSvg?: boolean;
  /** Aborts a download. */
  signal?: AbortSignal;
  /** Name resolution, routing and redirects of `http(s)` downloads (see ImageFetchOptions). */
  fetch?: ImageFetchOptions;
}

export interface VideoPart {
  type: 'video';
  /** A video file (decoded with ffmpeg from PATH) or its frames in order. */
  video: string | ImageInput[];
  /** Frames to use at most, sampled uniformly over the duration. Default: DEFAULTS.video.maxFrames (50). */
  maxFrames?: number;
  /** Sample at this rate instead (frames per second), still capped by maxFrames. */
  fps?: number;
  /** Put each frame's time before it in the prompt. Default: DEFAULTS.video.timestamps (true; needs `fps` for a frame array). */
  timestamps?: boolean;
  /**
   * Cut frames into tiles like images. Default false where the model allows it
   * (`info.vision.resolutionControl`): each frame is one tile (its overview), as SmolVLM2 encodes
   * video, so 50 frames of the 256M model take 50 x 64 tokens.
   */
  tiling?: boolean;
  /** With `tiling: true`, the longest side frames are scaled to (see {@link ImageResolution}). */
  longestEdge?: number;
}

// ---------------------------------------------------------------------------------------------
// Chat messages

export interface TextPart {
  type: 'text';
  text: string;
}
export interface ImagePart extends ImageResolution {
  type: 'image';
  image: ImageInput;
}
export type ContentPart = TextPart | ImagePart | VideoPart;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** A string, or text and image parts in any order. */
  content: string | ContentPart[];
}

// ---------------------------------------------------------------------------------------------
// Hub and registry

export interface DownloadProgress {
  /** The file's path in the repository. */
  file: string;
  /** Bytes of the file on disk so far (a resumed download starts above 0). */
  downloaded: number;
  /**
   * The file's size; 0 while it is not known (a dataset, whose source lists no size, that another
   * process is downloading: the last event, when it is complete, has it).
   */
  total: number;
}

export interface HubOptions {
  /** Hub base URL. Default: env MODEL_ENDPOINT ?? HF_ENDPOINT ?? the Hugging Face hub. */
  endpoint?: string;
  /** Access token, sent as `Authorization: Bearer`. Default: env HF_TOKEN. */
  token?: string;
  /** Cache root. Default: `hubCacheDir()`. */
  cacheDir?: string;
  /** No network at all: resolve from the cache. Default: env HF_HUB_OFFLINE is 1 (or true). */
  offline?: boolean;
  signal?: AbortSignal;
  /** Called while a file downloads (throttled), and always once more when it is complete. */
  onProgress?: (p: DownloadProgress) => void;
  /** Per-request inactivity timeout in ms (no response, or no data for this long). Default 30000. */
  timeoutMs?: number;
}

export interface HubFile {
  /** Path in the repository. */
  path: string;
  size: number;
  /** The LFS sha256 (the blob name), when the hub gave one. */
  sha256?: string;
  /** Absolute path of the file in the cache snapshot. */
  localPath: string;
}

export interface ResolvedModel {
  repo: string;
  commit: string;
  model: HubFile;
  mmproj?: HubFile;
}

export interface CachedRepo {
  repo: string;
  /** The commit `refs/main` (or another ref) points to. */
  commit: string;
  /** The files of that commit's snapshot. */
  files: { path: string; size: number; localPath: string }[];
  /** Bytes the repository takes on disk (blobs, copied snapshot files, partial downloads). */
  sizeBytes: number;
}

export interface KnownModel {
  /** The name to use in `loadModel({ model })` and the CLI. */
  name: string;
  /** Hugging Face repository holding the GGUF model and its projector. */
  repo: string;
  /** Quantization used when none is asked for. */
  quant: string;
  /** Quantizations published for it (`smolvlm pull` lists the hub's actual files). */
  quants: string[];
  parameters: string;
  description: string;
  /**
   * What the test suite runs this model's prompt layout on: `fixture` is the synthetic model
   * (test/fixtures/synth.mjs `SHAPES`) that has the model's vocabulary and image tiling, `layout`
   * says what that is (whether `<global-img>` / `<row_R_col_C>` are tokens or text, tile and patch
   * size, scale factor, tokens per tile). `null`: no fixture has this model's layout, so it is
   * listed but not verified.
   */
  verified: { fixture: string; layout: string } | null;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** KV cache element types. */
export type KvCacheType = 'f32' | 'f16' | 'q4_0' | 'q8_0' | 'bf16';

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
  /** Tokens the KV cache holds, shared by all parallel sequences. Default: DEFAULTS.contextSize (4096). */
  contextSize?: number;
  /** Sequences decoded together (continuous batching). Default: DEFAULTS.parallel (1). */
  parallel?: number;
  /** Largest number of tokens submitted to one decode. Default: DEFAULTS.batchSize (2048). */
  batchSize?: number;
  /** Physical micro-batch size. Default: DEFAULTS.ubatchSize (512). */
  ubatchSize?: number;
  /**
   * CPU threads for decoding and image encoding, 1 to LIMITS.threads (four per available core,
   * at most 256). Default: DEFAULTS.threads (`os.availableParallelism()`).
   */
  threads?: number;
  /**
   * GPU offload. `'auto'` (DEFAULTS.gpu): as many layers as fit each GPU's free memory less 1 GiB,
   * projector included (it moves to the CPU only if not even zero layers leave room for it);
   * the CPU when there is no GPU. `{ memory: '2GB' }`: the same fit within that many bytes per
   * GPU. `true`: all layers, unchecked. `false`: CPU only. `{ layers: n }`: n layers (-1 = all).
   * `info.gpuLayers` tells what was chosen.
   */
  gpu?: 'auto' | boolean | { layers: number } | { memory: number | string };
  /** Keep the projector on the GPU when one is used. Default: DEFAULTS.projectorOnGpu (true). */
  projectorOnGpu?: boolean;
  /** Flash attention: `'auto'`, `true` or `false`. Default: DEFAULTS.flashAttention (`'auto'`, llama.cpp's choice). */
  flashAttention?: 'auto' | boolean;
  /**
   * KV cache element type; `q8_0` halves its memory. The quantized types need flash attention:
   * with `flashAttention: 'auto'` they turn it on, with `false` they are refused. Default:
   * DEFAULTS.kvCacheType (`'f16'`).
   */
  kvCacheType?: KvCacheType;
  /** Memory-map the weights. Default: llama.cpp's choice (mmap, unless a device cannot map files). */
  useMmap?: boolean;
  /** Lock the weights in RAM. Default: DEFAULTS.useMlock (false). */
  useMlock?: boolean;
  /** Lower bound of image tokens for dynamic-resolution projectors. Default from the projector. */
  imageMinTokens?: number;
  /** Upper bound of image tokens for dynamic-resolution projectors. Default from the projector. */
  imageMaxTokens?: number;
  /** Reserve the projector's compute buffers at load time. Default: DEFAULTS.warmup (true). */
  warmup?: boolean;
  /**
   * Encoded images kept for reuse (keyed by content hash): a second question about an image
   * skips the vision encoder. `false` disables it. Default: `{ maxBytes: DEFAULTS.imageCacheBytes }` (32 MiB).
   */
  imageCache?: false | { maxBytes?: number };
  /**
   * Prompt-prefix reuse: each parallel slot keeps its KV cache after a request, and a new request
   * goes to the free slot whose cache shares the longest prefix with its prompt (images compared
   * by content), evaluating only the rest (multi-turn chat, repeated system prompts). Idle caches
   * are dropped whenever a new request needs their room. `usage.cachedTokens` reports the reuse.
   * Default: DEFAULTS.promptCache (true).
   */
  promptCache?: boolean;
  /**
   * One pool of KV cells for all `parallel` slots (true: any request may use the whole
   * `contextSize`), or a fixed share of `contextSize / parallel` per slot (false: a longer request
   * fails with ContextFullError, as in `llama-server --parallel N`). Per slot, attention in a step
   * reads only each sequence's own cells, where one pool makes every sequence read past all the
   * others' (masked out): faster with many concurrent requests, more so the longer they are.
   * Default: DEFAULTS.kvUnified (true).
   */
  kvUnified?: boolean;
  /**
   * Memory budget (bytes, or a string like `'1.5GB'`) for weights, KV cache, compute buffers and
   * projector. The largest context up to `contextSize` that fits is used (see `info.contextSize`);
   * if none does, loading fails before allocating with an `InsufficientMemoryError`.
   */
  memoryLimit?: number | string;
  /**
   * LoRA adapters (GGUF, as llama.cpp's `convert_lora_to_gguf.py` writes them), loaded once with the
   * model. Each applies to every request at its `scale` unless a request picks its own (`lora` in
   * the request). A file that is not an adapter for this model is a `ModelLoadError`.
   */
  lora?: LoraOptions[];
  /**
   * rpc-servers (llama.cpp's `rpc-server`, built from the same llama.cpp source) that hold the
   * model's layers, as `'host:port'`: its layers go to their devices (then to local GPUs, unless
   * `gpu: false`; the CPU keeps the rest), as llama.cpp's `--rpc` does. All layers are offloaded
   * unless `gpu: { layers }` says how many. Each server is reached within
   * DEFAULTS.rpcConnectTimeoutMs (5 s) or the load fails with `ERR_RPC_UNAVAILABLE`; a server lost
   * later fails the requests that need it with the same code, and the model must be loaded again.
   * The RPC protocol has no authentication or encryption: run rpc-servers on private networks only
   * (docs/rpc.md). Not with `memoryLimit` (the fit sees this machine only).
   */
  rpc?: string[];
  /** Called with load progress in [0, 1]. */
  onProgress?: (progress: number) => void;
  /** Aborts the load; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** A LoRA adapter to load with the model. */
export interface LoraOptions {
  /** The adapter's GGUF file. */
  path: string;
  /** The scale requests use when they pick none. Default: DEFAULTS.loraScale (1). */
  scale?: number;
  /** The name requests pick it by. Default: the file name without `.gguf`. */
  id?: string;
}

/** A LoRA adapter a request runs with: one loaded with the model, by `id` or `path`. */
export interface LoraSelection {
  id?: string;
  path?: string;
  /** Default: the scale it was loaded with. */
  scale?: number;
}

/** A LoRA adapter loaded with the model (`info.lora`). */
export interface LoraInfo {
  id: string;
  /** Absolute path. */
  path: string;
  /** The scale requests use when they pick none. */
  scale: number;
  /** adapter.lora.alpha (0: none; the effective scale is then `scale` itself, else scale * alpha / rank). */
  alpha: number;
  /** A/B tensor pairs (weights adapted). */
  tensors: number;
  /** Bytes of its tensors in memory. */
  sizeBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Requests and results

export interface SamplingOptions {
  /** Tokens to generate at most (>= 1). Default: DEFAULTS.maxTokens (512). */
  maxTokens?: number;
  /** 0 = greedy (deterministic). Default: DEFAULTS.temperature (0). */
  temperature?: number;
  /** Default: DEFAULTS.topK (40; only with temperature > 0). */
  topK?: number;
  /** Default: DEFAULTS.topP (0.95; only with temperature > 0). */
  topP?: number;
  /** Default: DEFAULTS.minP (0.05; only with temperature > 0). */
  minP?: number;
  /** 1 = off. Default: DEFAULTS.repeatPenalty (1). */
  repeatPenalty?: number;
  /** Tokens the repeat penalty looks back over; -1 = the whole context. Default: DEFAULTS.repeatLastN (64). */
  repeatLastN?: number;
  /** Sampling seed. Default random. */
  seed?: number;
  /**
   * Never stop at the end-of-generation token (fixed-length runs, benchmarks). Default:
   * DEFAULTS.ignoreEos (false). Not with `jsonSchema` or `grammar`: there the grammar decides
   * where the output ends (InvalidArgumentError).
   */
  ignoreEos?: boolean;
  /** Generation ends before any of these strings; they are not part of the text. At most 64, each 1 to 1024 characters. Not with `jsonSchema`. */
  stop?: string[];
  /**
   * Constrains decoding to JSON valid against this JSON Schema (the subset llama.cpp's
   * `json_schema_to_grammar` supports: objects, `required`, `enum`, `const`, arrays with
   * `minItems`/`maxItems`, string formats such as `date`, `date-time`, `uuid`, numbers, integers
   * with bounds, `anyOf`/`oneOf`, `$ref` to `$defs`). The result then carries `json`, the parsed
   * value, when generation ended on its own (`finishReason: 'stop'`). An invalid or unsupported
   * schema is an InvalidArgumentError naming the problem. Not with `grammar`.
   */
  jsonSchema?: JsonSchema;
  /** Constrains decoding to this GBNF grammar (llama.cpp's grammar format, start symbol `root`). */
  grammar?: string;
  /** Include token ids in chunks and the result. Default: DEFAULTS.tokens (false). */
  tokens?: boolean;
  /** Include each token's log-probability. Default: DEFAULTS.logprobs (false). */
  logprobs?: boolean;
  /** Aborts the generation; rejects with an `AbortError` whose `result` holds the partial answer. */
  signal?: AbortSignal;
  /** Image decoding options. */
  image?: ImageOptions;
  /**
   * LoRA adapters (loaded with the model) this request runs with, replacing the model's default set
   * (every adapter at its load scale); `[]` runs the base model. Requests with different sets are
   * served one set at a time (docs/architecture.md).
   */
  lora?: LoraSelection[];
}

export interface ChatRequest extends SamplingOptions {
  /** Messages rendered with the model's chat template; image parts become image tokens. */
  messages: ChatMessage[];
}

export interface RawRequest extends SamplingOptions {
  /** A prompt used as is (special tokens parsed); one image per media marker (`info.mediaMarker`). */
  prompt: string;
  images?: ImageInput[];
  /** Add the BOS token. Default: DEFAULTS.addSpecial (true). */
  addSpecial?: boolean;
}

export type GenerateRequest = ChatRequest | RawRequest;

export interface StreamChunk {
  /** New text; never splits a character. */
  text: string;
  tokens?: number[];
  logprobs?: number[];
}

/** `stop`: end-of-generation token or stop string; `length`: maxTokens or context; `abort`. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface TokenUsage {
  promptTokens: number;
  imageTokens: number;
  /** Prompt tokens taken from a slot's KV cache instead of being evaluated (`promptCache`). */
  cachedTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface GenerationTimings {
  imageEncodeMs: number;
  promptEvalMs: number;
  promptTokensPerSecond: number;
  generationMs: number;
  tokensPerSecond: number;
  timeToFirstTokenMs: number;
  totalMs: number;
}

/** A JSON Schema document (a JSON object), as `jsonSchema` takes it. */
export type JsonSchema = { [key: string]: unknown };

export interface GenerateResult {
  text: string;
  /**
   * With `jsonSchema`: `text` parsed, present only when generation ended on its own
   * (`finishReason: 'stop'`); a generation cut by `maxTokens` has none, never a partial value.
   */
  json?: unknown;
  /** `stop`: end-of-generation token or stop string; `length`: maxTokens or context; `abort`. */
  finishReason: FinishReason;
  usage: TokenUsage;
  timings: GenerationTimings;
  tokens?: number[];
  logprobs?: number[];
}

/** A stream of chunks that is also a handle on the final result. */
export interface GenerationStream extends AsyncIterable<StreamChunk> {
  /** Settles when generation ends (rejects like `generate`). */
  readonly result: Promise<GenerateResult>;
}

// ---------------------------------------------------------------------------------------------
// Model information

export interface VisionInfo {
  projectorType: string;
  imageSize: number;
  patchSize: number;
  scaleFactor: number;
  tokensPerTile: number;
  /** Images are scaled so their longest side is this (pixels) before tiling, unless a request says otherwise. */
  longestEdge: number;
  /** Whether images take `longestEdge` and `tiling: false` (SmolVLM's idefics3 projector). */
  resolutionControl: boolean;
  sizeBytes: number;
}

export interface ModelInfo {
  architecture: string;
  name: string;
  description: string;
  chatTemplate: string;
  parameters: number;
  sizeBytes: number;
  contextLength: number;
  embeddingLength: number;
  layers: number;
  vocabSize: number;
  bosToken: number;
  eosToken: number;
  mediaMarker: string;
  hasVision: boolean;
  vision?: VisionInfo;
  /** LoRA adapters loaded with the model (`lora` in loadModel), in that order. */
  lora: LoraInfo[];
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
}

/** Encoded-image cache counters. */
export interface ImageCacheStats {
  /** Tiles served from the cache. */
  hits: number;
  /** Tiles looked up and not found (then encoded). */
  misses: number;
  evictions: number;
  /** Tiles the vision encoder has encoded. */
  encodes: number;
  bytes: number;
  entries: number;
  maxBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Memory and devices

export type DeviceType = 'cpu' | 'gpu' | 'igpu' | 'accel';

export interface DeviceMemory {
  device: string;
  type: DeviceType;
  /** Weights. */
  model: number;
  /** KV cache. */
  context: number;
  /** Compute buffers. */
  compute: number;
  /** The device's free and total memory now. */
  free: number;
  total: number;
}

export interface MemoryTotals {
  /** Weights of the language model. */
  model: number;
  /** KV cache. */
  context: number;
  /** Compute buffers of the language model. */
  compute: number;
  /** Projector weights and compute buffers. */
  projector: number;
  /** LoRA adapters' tensors. */
  lora: number;
  /** Everything above. */
  all: number;
}

export interface MemoryEstimate {
  /** Per device: the model's devices, then the host ("CPU"). */
  devices: DeviceMemory[];
  projector: DeviceMemory[];
  totals: MemoryTotals;
  /** Repeating layers of the language model (GPU offload counts these plus the output layer). */
  layers?: number;
}

export interface MemoryUsage extends MemoryEstimate {
  /** Bytes held by the encoded-image cache. */
  imageCache: number;
  /** Resident set size of the process. */
  rss: number;
}

/** What `estimateMemory` reports: the breakdown and the settings it was computed for (after fitting). */
export interface LoadEstimate extends MemoryEstimate {
  /** The context loading would create (smaller than asked when `memoryLimit` requires it). */
  contextSize: number;
  /** Layers offloaded to the GPU (repeating layers + output layer; 0 without a GPU). */
  gpuLayers: number;
  projectorOnGpu: boolean;
}

export interface BackendInfo {
  dir: string;
  cpuVariant: string;
  skipped: string[];
  loaded: string[];
  devices: { name: string; description: string; type: DeviceType; memoryFree: number; memoryTotal: number }[];
  system: string;
  /** Where the addon was loaded from, and the GPU add-on packages found (lib/loader.ts). */
  addon: AddonOrigin;
  /** A GPU this machine has that no loaded backend uses, with the command that installs its package. */
  gpuHints: string[];
}

/** A GPU add-on package (`@smolvlm-node/<platform>-cuda|vulkan`) found beside the platform package. */
export interface GpuPackage {
  package: string;
  version: string;
  /** Its ggml backend module files (full paths). */
  modules: string[];
  /** Whether its modules were handed to the addon. */
  attached: boolean;
  /** Why not attached, or why it did not initialise. */
  problem?: string;
}

/** Where the native addon was loaded from. */
export interface AddonOrigin {
  source: 'SMOLVLM_BINARY' | 'local build' | 'package';
  /** The smolvlm.node file loaded. */
  path: string;
  /** The platform package and its version, when `source` is 'package'. */
  package?: string;
  version?: string;
  gpuPackages: GpuPackage[];
}

/** Levels of llama.cpp's own log (see `setLogLevel`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';
