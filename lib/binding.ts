/**
 * The only file that loads the native addon, and the types of its boundary (the `Native*`
 * shapes, built on lib/types.ts where they are the same). Internal: index.ts re-exports none of
 * it. Per the boundary contract every field of an object JS passes is required (JS sends every
 * value, lib/options.ts maps them; native keeps no defaults), sentinels included.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  BackendInfo, DeviceMemory, FinishReason, GenerationTimings, ImageCacheStats, LogLevel, ModelInfo, TokenUsage,
} from './types.js';
import { loadAddon } from './loader.js';

export interface NativeLoadOptions {
  model: string;
  /** '' = text only. */
  mmproj: string;
  /** -1 = all. */
  gpuLayers: number;
  /** 'auto': llama.cpp's choice (mmap unless a device cannot map files). */
  useMmap: boolean | 'auto';
  useMlock: boolean;
  mmprojGpu: boolean;
  /** false: the CPU alone (no GPU compute buffers either). */
  useGpu: boolean;
  /** >= 1. */
  threads: number;
  /** -1 = the projector's own. */
  imageMinTokens: number;
  /** -1 = the projector's own. */
  imageMaxTokens: number;
  /** -1 auto, 0 off, 1 on. */
  flashAttn: number;
  warmup: boolean;
  /** >= 0; 0 disables the cache. */
  imageCacheBytes: number;
  /** Absolute paths, unique ids. */
  lora: { path: string; id: string; scale: number }[];
  /** rpc-server endpoints, 'host:port', checked (lib/rpc.ts); [] for none. */
  rpc: string[];
  /** >= 1: the bound of each endpoint's TCP connect. */
  rpcTimeoutMs: number;
}

export interface NativeEngineOptions {
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  parallel: number;
  threads: number;
  threadsBatch: number;
  /** -1 auto, 0 off, 1 on. */
  flashAttn: number;
  /** ggml type ids. */
  typeK: number;
  typeV: number;
  /** Keep each slot's KV cache after a request and reuse its longest common prefix. */
  promptCache: boolean;
}

export interface NativeGenerateParams {
  prompt: string;
  addSpecial: boolean;
  parseSpecial: boolean;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  /** Already resolved: never -1. */
  repeatLastN: number;
  /** uint32. */
  seed: number;
  ignoreEos: boolean;
  tokens: boolean;
  logprobs: boolean;
  /** Possibly empty. */
  stop: string[];
  /** Indexes into info().lora, ascending, no zero scale; [] = the base model. */
  lora: { index: number; scale: number }[];
}

/** A grammar compiled and checked by `NativeModel.compileGrammar`; one `generate` uses it up. */
export interface NativeGrammar {
  readonly __nativeGrammar: never;
}

export interface NativeImage {
  /** RGB8 pixels, width * height * 3 bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Content id for the encoded-image cache; '' = none. */
  id: string;
  /** Scale the longest side to this before tiling; 0 = the projector's default (native checks the range). */
  longestEdge: number;
  /** false: the overview only, no tiles. */
  tiling: boolean;
}

/** What the model reports about itself: ModelInfo less what the load and the engine add. */
export type NativeModelInfo = Omit<ModelInfo, 'contextSize' | 'loadTimeMs' | 'requestedContextSize' | 'parallel' | 'cpuVariant' | 'gpuLayers' | 'projectorOnGpu'>;

export interface NativeDone {
  finishReason: FinishReason;
  usage: TokenUsage;
  timings: GenerationTimings;
}

export interface NativeEvent {
  text?: string;
  tokens?: Int32Array;
  logprobs?: Float32Array;
  error?: { code: string; message: string };
  done?: NativeDone;
}

export type NativeDeviceMemory = DeviceMemory;

export interface NativeMemoryReport {
  devices: NativeDeviceMemory[];
  /** Projector weights + compute buffers per device (in `model`). */
  projector: NativeDeviceMemory[];
  /** LoRA adapters' tensor bytes. */
  lora: number;
  /** Repeating layers of the language model. */
  layers?: number;
}

export interface NativeEngine {
  generate(params: NativeGenerateParams, images: NativeImage[], onEvent: (ev: NativeEvent) => void, grammar: NativeGrammar | null): number;
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
  /** The prompt as the engine evaluates it: text token ids, -1 at each image embedding position. */
  promptTokens(prompt: string, images: NativeImage[], addSpecial: boolean): Promise<Int32Array>;
  /** A JSON Schema as JSON text ('' = none: then `gbnf`) -> its grammar, checked; rejects with ERR_INVALID_ARGUMENT. */
  compileGrammar(jsonSchema: string, gbnf: string): Promise<NativeGrammar>;
  imageCache(): ImageCacheStats;
  projectorMemory(): NativeDeviceMemory[];
  configureImageCache(maxBytes: number | undefined, clear: boolean): void;
  dispose(): Promise<void>;
}

export interface NativeAddon {
  estimateMemory(load: NativeLoadOptions, engine: NativeEngineOptions): Promise<NativeMemoryReport>;
  loadModel(options: NativeLoadOptions, onProgress?: (p: number) => void): { promise: Promise<NativeModel>; abort(): void };
  backendInfo(): BackendInfo;
  setLogLevel(level: LogLevel): void;
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
