/**
 * The settings one hub call works with: its options over the environment (the variables
 * huggingface_hub and llama.cpp read), checked once, and the cache root.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { invalid } from '../errors.js';
import type { DownloadProgress, HubOptions } from '../types.js';

/** The only hub host name in this library. */
const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_TIMEOUT_MS = 30_000;

/** A call's settings, defaults applied. */
export interface Ctx {
  endpoint: string;
  token?: string;
  cacheDir: string;
  offline: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  timeoutMs: number;
}

/** The value, unless it is missing or blank. */
export function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/** An environment flag: 1, true, yes or on. */
export function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/**
 * The HF cache layout root: SMOLVLM_MODELS_DIR ?? HF_HUB_CACHE ?? HUGGINGFACE_HUB_CACHE ??
 * $HF_HOME/hub ?? $XDG_CACHE_HOME/huggingface/hub ?? ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? homedir();
  const expand = (p: string) => resolve(p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const direct = nonEmpty(env.SMOLVLM_MODELS_DIR) ?? nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (direct) return expand(direct);
  const hfHome = nonEmpty(env.HF_HOME);
  if (hfHome) return join(expand(hfHome), 'hub');
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  if (xdg) return join(expand(xdg), 'huggingface', 'hub');
  return join(home, '.cache', 'huggingface', 'hub');
}

/** The cache root a call uses: its `cacheDir` option, else {@link hubCacheDir}, absolute. */
export function cacheRoot(options: Pick<HubOptions, 'cacheDir'> | undefined): string {
  return resolve(nonEmpty(options?.cacheDir) ?? hubCacheDir());
}

function checkTransferOptions(options: HubOptions): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2_147_483_647) throw invalid(`timeoutMs must be a positive number of ms below 2^31, got ${timeoutMs}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress must be a function');
  return timeoutMs;
}

/**
 * The settings of a download from somewhere other than the hub (VLMEvalKit's datasets): the
 * signal, progress callback, timeout and offline switch of `options`, never a token.
 * @throws InvalidArgumentError for options that are not what {@link HubOptions} says.
 */
export function plainContext(options: HubOptions, cacheDir: string): Ctx {
  if (options === null || typeof options !== 'object') throw invalid('hub options must be an object');
  return {
    endpoint: '',
    cacheDir,
    offline: options.offline ?? truthy(process.env.HF_HUB_OFFLINE),
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs: checkTransferOptions(options),
  };
}

/** @throws InvalidArgumentError for options that are not what {@link HubOptions} says. */
export function context(options: HubOptions): Ctx {
  if (options === null || typeof options !== 'object') throw invalid('hub options must be an object');
  const env = process.env;
  const raw = nonEmpty(options.endpoint) ?? nonEmpty(env.MODEL_ENDPOINT) ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT;
  let endpoint: string;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(url.protocol);
    endpoint = url.href.replace(/\/+$/, '');
  } catch {
    throw invalid(`hub endpoint must be an http(s) URL, got '${raw}'`);
  }
  const timeoutMs = checkTransferOptions(options);
  const token = nonEmpty(options.token) ?? nonEmpty(env.HF_TOKEN);
  return {
    endpoint,
    token: token?.trim(),
    cacheDir: cacheRoot(options),
    offline: options.offline ?? truthy(env.HF_HUB_OFFLINE),
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs,
  };
}
