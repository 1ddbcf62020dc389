/**
 * Typed errors. Every error this library throws or rejects with is a {@link SmolVLMError} with a
 * stable `code`; subclasses group the codes a caller typically handles differently. Above
 * types.ts only: every other file of the library may import this one.
 */
import type { GenerateResult, MemoryEstimate } from './types.js';

/** Stable error codes. */
export type ErrorCode =
  | 'ERR_MODEL_NOT_FOUND'
  | 'ERR_MODEL_UNREADABLE'
  | 'ERR_NOT_GGUF'
  | 'ERR_MODEL_INVALID'
  | 'ERR_PROJECTOR_MISMATCH'
  | 'ERR_NO_VISION'
  | 'ERR_CONTEXT_FULL'
  | 'ERR_ABORTED'
  | 'ERR_DISPOSED'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_IMAGE_INVALID'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_RPC_UNAVAILABLE'
  | 'ERR_INSUFFICIENT_MEMORY'
  | 'ERR_NATIVE_LOAD'
  | 'ERR_TOOL_MISSING'
  | 'ERR_INTERNAL'
  | 'ERR_DOWNLOAD_FAILED'
  | 'ERR_CHECKSUM_MISMATCH'
  | 'ERR_HUB_UNAUTHORIZED'
  | 'ERR_OFFLINE';

export class SmolVLMError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The model or projector file is missing, unreadable, not a GGUF, or not loadable. */
export class ModelLoadError extends SmolVLMError {}
/** The projector (mmproj) does not belong to the model, or is not a projector. */
export class ProjectorMismatchError extends ModelLoadError {}
/** The prompt (with its image tokens) does not fit the context. */
export class ContextFullError extends SmolVLMError {}
/** The operation was aborted through its AbortSignal. `result` holds what was generated so far. */
export class AbortError extends SmolVLMError {
  /** For a generation: what was generated before the abort (`finishReason: 'abort'`). */
  result?: GenerateResult;
}
/** The model (or engine) was disposed. */
export class DisposedError extends SmolVLMError {}
/** An argument is missing, of the wrong type or out of range. */
export class InvalidArgumentError extends SmolVLMError {}
/** An image could not be decoded or encoded, or the model cannot see images. */
export class ImageError extends SmolVLMError {}
/** The model does not fit `memoryLimit`; `estimate` holds the numbers, found before allocating. */
export class InsufficientMemoryError extends SmolVLMError {
  estimate?: MemoryEstimate;
  /** The memory the smallest usable configuration needs. */
  required?: number;
  limit?: number;
}
/**
 * An rpc-server (`loadModel({ rpc })`) cannot be reached at load (`ERR_RPC_UNAVAILABLE`, naming the
 * endpoint), or its connection was lost: then every request that needs it fails with the same code
 * and the model must be disposed and loaded again (the process and other models are unaffected).
 */
export class RemoteDeviceError extends SmolVLMError {}
/** The native addon could not be loaded. */
export class NativeLoadError extends SmolVLMError {}
/**
 * Getting a model from the hub failed: the network (`ERR_DOWNLOAD_FAILED`, naming the URL), access
 * (`ERR_HUB_UNAUTHORIZED`: set HF_TOKEN), a corrupt download (`ERR_CHECKSUM_MISMATCH`), a missing
 * repository or file (`ERR_MODEL_NOT_FOUND`), or offline mode with the files not cached (`ERR_OFFLINE`).
 */
export class DownloadError extends ModelLoadError {}

const classes: Record<ErrorCode, new (code: ErrorCode, message: string, options?: { cause?: unknown }) => SmolVLMError> = {
  ERR_MODEL_NOT_FOUND: ModelLoadError,
  ERR_MODEL_UNREADABLE: ModelLoadError,
  ERR_NOT_GGUF: ModelLoadError,
  ERR_MODEL_INVALID: ModelLoadError,
  ERR_PROJECTOR_MISMATCH: ProjectorMismatchError,
  ERR_NO_VISION: ImageError,
  ERR_CONTEXT_FULL: ContextFullError,
  ERR_ABORTED: AbortError,
  ERR_DISPOSED: DisposedError,
  ERR_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_IMAGE_INVALID: ImageError,
  ERR_OUT_OF_MEMORY: SmolVLMError,
  ERR_RPC_UNAVAILABLE: RemoteDeviceError,
  ERR_INSUFFICIENT_MEMORY: InsufficientMemoryError,
  ERR_NATIVE_LOAD: NativeLoadError,
  ERR_TOOL_MISSING: ImageError,
  ERR_INTERNAL: SmolVLMError,
  ERR_DOWNLOAD_FAILED: DownloadError,
  ERR_CHECKSUM_MISMATCH: DownloadError,
  ERR_HUB_UNAUTHORIZED: DownloadError,
  ERR_OFFLINE: DownloadError,
};

/** Builds the typed error for a code. */
export function makeError(code: string, message: string, options?: { cause?: unknown }): SmolVLMError {
  const known = (code in classes ? code : 'ERR_INTERNAL') as ErrorCode;
  return new classes[known](known, message, options);
}

/**
 * Converts whatever a native call threw or rejected with into a typed error, keeping the JS
 * call site: `callSite` is an Error created synchronously where the user called us.
 */
export function fromNative(err: unknown, callSite?: Error): SmolVLMError {
  let out: SmolVLMError;
  if (err instanceof SmolVLMError) out = err;
  else if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const e = err as { code: string; message?: string };
    out = makeError(e.code, e.message ?? String(err));
  } else out = makeError('ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
  if (callSite?.stack) {
    const frames = callSite.stack.split('\n').slice(1).join('\n');
    out.stack = `${out.name}: ${out.message}\n${frames}`;
  }
  return out;
}

/** The error for a bad argument (`ERR_INVALID_ARGUMENT`). */
export function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError('ERR_INVALID_ARGUMENT', message);
}

/** The error for an operation its AbortSignal stopped (`ERR_ABORTED`). */
export function abortError(message: string): AbortError {
  return new AbortError('ERR_ABORTED', message);
}
