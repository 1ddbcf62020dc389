/**
 * Models from a Hugging Face hub: `org/name[:quant]` resolves to a GGUF model and its projector
 * the way llama.cpp's `-hf` does (common/download.cpp, common/hf-cache.cpp), and the files land
 * in huggingface_hub's cache layout, so llama.cpp, huggingface_hub and this library share them.
 * Downloads resume (`blobs/{oid}.incomplete` + Range), are verified before they are renamed into
 * place, and are serialized between processes by `blobs/{oid}.lock`.
 *
 * The layers, bottom up: types, refs (names), context (options + environment), select (which
 * files), failures / http / api (the network), fs / progress / lock / transfer (one blob),
 * snapshot (the cache layout), offline (resolving from the cache), pull and cache (the API).
 */
export { parseRepoRef } from './refs.js';
export { hubCacheDir } from './context.js';
export { pullModel } from './pull.js';
export { listCached, removeCached } from './cache.js';
export type { CachedRepo, DownloadProgress, HubFile, HubOptions, ResolvedModel } from '../types.js';
