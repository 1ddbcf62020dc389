export { estimateMemory, loadModel, SmolVLM } from './model.js';
export type { LoadEstimate } from './model.js';
export { parseBytes } from './memory.js';
export type { DeviceMemory, MemoryEstimate, MemoryTotals, MemoryUsage } from './memory.js';
export type {
  LoadModelOptions,
  SamplingOptions,
  ChatRequest,
  RawRequest,
  GenerateRequest,
  GenerateResult,
  StreamChunk,
  GenerationStream,
  ModelInfo,
  KvCacheType,
} from './model.js';
export type { ChatMessage, ContentPart, TextPart, ImagePart } from './chat.js';
export type { VideoPart } from './video.js';
export type { ImageInput, RawImage, ImageOptions } from './images.js';
export {
  SmolVLMError,
  ModelLoadError,
  ProjectorMismatchError,
  ContextFullError,
  AbortError,
  DisposedError,
  InvalidArgumentError,
  InsufficientMemoryError,
  ImageError,
  NativeLoadError,
  DownloadError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export { backendInfo, setLogLevel } from './system.js';
export type { BackendInfo, ImageCacheStats } from './binding.js';
export { KNOWN_MODELS, DEFAULT_MODEL, findKnownModel } from './registry.js';
export type { KnownModel } from './registry.js';
export { pullModel, listCached, removeCached, hubCacheDir } from './hub.js';
export type { HubOptions, DownloadProgress, ResolvedModel, CachedRepo } from './hub.js';
export { createServer, smolvlmPlugin } from './server/lazy.js';
export type { CreateServerOptions, ServerOptions, ServerStatus, SmolVLMPluginOptions } from './server/index.js';
export type { RemotePolicy } from './net/index.js';
