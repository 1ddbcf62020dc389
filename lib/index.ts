/** The package's public API: functions and classes from their modules, data types from types.ts. */
export { estimateMemory, loadModel } from './load.js';
export { SmolVLM } from './model.js';
export { parseBytes } from './memory.js';
export type {
  LoadModelOptions,
  SamplingOptions,
  ChatRequest,
  RawRequest,
  GenerateRequest,
  GenerateResult,
  JsonSchema,
  StreamChunk,
  GenerationStream,
  ModelInfo,
  KvCacheType,
  LoadEstimate,
  DeviceMemory,
  MemoryEstimate,
  MemoryTotals,
  MemoryUsage,
  ChatMessage,
  ContentPart,
  TextPart,
  ImagePart,
  VideoPart,
  ImageInput,
  RawImage,
  ImageOptions,
  BackendInfo,
  ImageCacheStats,
  KnownModel,
  HubOptions,
  DownloadProgress,
  ResolvedModel,
  CachedRepo,
} from './types.js';
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
  RemoteDeviceError,
  DownloadError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export { backendInfo, setLogLevel } from './system.js';
export { KNOWN_MODELS, DEFAULT_MODEL, findKnownModel } from './registry.js';
export { pullModel, listCached, removeCached, hubCacheDir } from './hub/index.js';
export { evaluate, score, EVAL_DEFAULTS, KNOWN_DATASETS, fetchDataset } from './eval/index.js';
export type { EvaluateOptions, EvaluateResult, EvalRow, ScoreOptions, ScoreResult, DatasetSpec, DatasetDownloadOptions, DownloadFn, Scores, ScoreTable } from './eval/index.js';
export { createServer, smolvlmPlugin } from './server/lazy.js';
export type { CreateServerOptions, ServerOptions, ServerStatus, SmolVLMPluginOptions } from './server/index.js';
export type { RemotePolicy } from './net/index.js';
