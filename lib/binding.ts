/**
 * The only file that loads the native addon, and the types of its boundary. Everything here is
 * internal: the public API lives in model.ts.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon, type AddonOrigin } from './loader.js';

export interface NativeLoadOptions {
  model: string;
  mmproj?: string;
  gpuLayers?: number;
  useMmap?: boolean;
  useMlock?: boolean;
  mmprojGpu?: boolean;
  /** false: the CPU alone (no GPU compute buffers either). Default true. */
  useGpu?: boolean;
  threads?: number;
  imageMinTokens?: number;
  imageMaxTokens?: number;
  flashAttn?: number;
  warmup?: boolean;
  imageCacheBytes?: number;
}

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

export interface NativeModelInfo {
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
  vision?: {
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
  };
}

export interface NativeEngineOptions {
  contextSize?: number;
  batchSize?: number;
  ubatchSize?: number;
  parallel?: number;
  threads?: number;
  threadsBatch?: number;
  flashAttn?: number;
  typeK?: number;
  typeV?: number;
}

export interface NativeGenerateParams {
  prompt: string;
  addSpecial?: boolean;
  parseSpecial?: boolean;
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  ignoreEos?: boolean;
  stop?: string[];
  tokens?: boolean;
  logprobs?: boolean;
}

export interface NativeImage {
  data: Uint8Array;
  width: number;
  height: number;
  id?: string;
  /** Scale the longest side to this before tiling (native checks the range). */
  longestEdge?: number;
  /** false: the overview only, no tiles. */
  tiling?: boolean;
}

export interface NativeDone {
  finishReason: 'stop' | 'length' | 'abort';
  usage: { promptTokens: number; imageTokens: number; completionTokens: number; totalTokens: number };
  timings: {
    imageEncodeMs: number;
    promptEvalMs: number;
    promptTokensPerSecond: number;
    generationMs: number;
    tokensPerSecond: number;
    timeToFirstTokenMs: number;
    totalMs: number;
  };
}

export interface NativeEvent {
  text?: string;
  tokens?: Int32Array;
  logprobs?: Float32Array;
  error?: { code: string; message: string };
  done?: NativeDone;
}

export interface NativeEngine {
  generate(params: NativeGenerateParams, images: NativeImage[], onEvent: (ev: NativeEvent) => void): number;
  abort(id: number): boolean;
  info(): { contextSize: number; parallel: number; batchSize: number; memory: NativeMemoryReport };
  dispose(): Promise<void>;
}

export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Promise<Int32Array>;
  detokenize(tokens: Int32Array, special: boolean): Promise<string>;
  applyTemplate(messages: { role: string; content: string }[], addAssistant: boolean, template?: string): string;
  createEngine(options: NativeEngineOptions): Promise<NativeEngine>;
  countTokens(prompt: string, images: NativeImage[], addSpecial: boolean): Promise<{ total: number; image: number }>;
  imageCache(): ImageCacheStats;
  projectorMemory(): NativeDeviceMemory[];
  configureImageCache(maxBytes: number | undefined, clear: boolean): void;
  dispose(): Promise<void>;
}

export interface BackendInfo {
  dir: string;
  cpuVariant: string;
  skipped: string[];
  loaded: string[];
  devices: { name: string; description: string; type: 'cpu' | 'gpu' | 'igpu' | 'accel'; memoryFree: number; memoryTotal: number }[];
  system: string;
  /** Where the addon was loaded from, and the GPU add-on packages found (lib/loader.ts). */
  addon: AddonOrigin;
  /** A GPU this machine has that no loaded backend uses, with the command that installs its package. */
  gpuHints: string[];
}

export interface NativeDeviceMemory {
  device: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
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

export interface NativeMemoryReport {
  devices: NativeDeviceMemory[];
  /** Projector weights + compute buffers per device (in `model`). */
  projector: NativeDeviceMemory[];
  /** Repeating layers of the language model. */
  layers?: number;
}

export interface NativeAddon {
  estimateMemory(load: NativeLoadOptions, engine: NativeEngineOptions): Promise<NativeMemoryReport>;
  loadModel(options: NativeLoadOptions, onProgress?: (p: number) => void): { promise: Promise<NativeModel>; abort(): void };
  backendInfo(): BackendInfo;
  setLogLevel(level: 'debug' | 'info' | 'warn' | 'error' | 'none'): void;
  shutdown(): void;
  mediaMarker: string;
}

/** Package root: dist/binding.js -> .. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let addon: NativeAddon | undefined;

/**
 * Engine threads must stop before the process's static destructors run. 'exit' fires on every
 * exit path (also an uncaught exception, which skips finalizers); stopping costs at most one
 * decode step, since each thread checks its stop flag inside ggml's compute loop.
 */
function onLoaded(a: NativeAddon): NativeAddon {
  process.once('exit', () => a.shutdown());
  return a;
}

/**
 * Loads the addon once, through lib/loader.ts (SMOLVLM_BINARY, a local build, the platform
 * package, plus a GPU add-on package); on failure a NativeLoadError says what was tried and how to fix it.
 */
export function native(): NativeAddon {
  addon ??= onLoaded(loadAddon<NativeAddon>(packageRoot));
  return addon;
}
