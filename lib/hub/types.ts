/**
 * The hub's public data types. This file imports nothing, so that it can sit at the bottom of the
 * house (and later fold into lib/types.ts).
 */

export interface DownloadProgress {
  /** The file's path in the repository. */
  file: string;
  /** Bytes of the file on disk so far (a resumed download starts above 0). */
  downloaded: number;
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
