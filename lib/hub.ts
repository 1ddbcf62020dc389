/**
 * Models from a Hugging Face hub: `org/name[:quant]` resolves to a GGUF model and its projector
 * the way llama.cpp's `-hf` does (common/download.cpp, common/hf-cache.cpp), and the files land
 * in huggingface_hub's cache layout, so llama.cpp, huggingface_hub and this library share them:
 *
 *     {cacheDir}/models--{org}--{name}/blobs/{sha256}
 *     {cacheDir}/models--{org}--{name}/snapshots/{commit}/{path}  -> ../../blobs/{sha256}
 *     {cacheDir}/models--{org}--{name}/refs/main                  (the commit)
 *
 * Downloads resume (`blobs/{sha256}.incomplete` + Range), are verified (sha256) before they are
 * renamed into place, and are serialized between processes by `blobs/{sha256}.lock`.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, unlinkSync } from 'node:fs';
import {
  copyFile, link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile,
} from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, DownloadError, invalid, SmolVLMError } from './errors.js';

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
  /** Cache root. Default: {@link hubCacheDir}(). */
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

/** The only hub host name in this library. */
const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** Tried in order when no quant is asked for, as llama.cpp's find_best_model; then the first model. */
const DEFAULT_QUANTS = ['Q4_K_M', 'Q8_0'];
const USER_AGENT = 'smolvlm-node';
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_ATTEMPTS = 3;
const PROGRESS_INTERVAL_MS = 100;
const LOCK_POLL_MS = 200;
/** A lock whose owner shows no sign of life (lock and partial untouched) for this long is stale. */
const LOCK_STALE_MS = 5 * 60_000;
/** How often an owner refreshes its lock's mtime while downloading. */
const LOCK_TOUCH_MS = 30_000;
const TMP_SUFFIX = /\.smolvlm-[0-9a-f]+\.tmp$/;

// ---------------------------------------------------------------------------------------------
// Repository references and the cache directory

const REPO_RE = /^[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*\/[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*$/;
const QUANT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function isValidRepo(repo: string): boolean {
  return repo.length <= 256 && REPO_RE.test(repo);
}

/** `org/name[:quant]` -> its parts; undefined when it is not one. */
export function parseRepoRef(ref: string): { repo: string; quant?: string } | undefined {
  if (typeof ref !== 'string') return undefined;
  const parts = ref.trim().split(':');
  if (parts.length > 2) return undefined;
  const [repo, quant] = parts;
  if (!isValidRepo(repo)) return undefined;
  if (quant === undefined) return { repo };
  if (!QUANT_RE.test(quant)) return undefined;
  return { repo, quant };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
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

function repoFolder(repo: string): string {
  return 'models--' + repo.replaceAll('/', '--');
}

function folderRepo(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  const repo = folder.slice('models--'.length).replaceAll('--', '/');
  return isValidRepo(repo) ? repo : undefined;
}

// ---------------------------------------------------------------------------------------------
// Choosing the files (llama.cpp's find_best_model / find_best_sibling)

interface Candidate {
  path: string;
  size: number;
  /** lfs.oid (sha256, 64 hex) or the git blob oid (sha1, 40 hex) of a non-LFS file. */
  oid?: string;
  lfs?: boolean;
  /** Offline only: the snapshot entry, or undefined when it is a broken link. */
  localPath?: string;
  missing?: boolean;
}

interface SplitInfo { prefix: string; tag: string; index: number; count: number }

function splitInfo(path: string): SplitInfo {
  if (!path.endsWith('.gguf')) return { prefix: '', tag: '', index: 0, count: 0 };
  let prefix = path.slice(0, -'.gguf'.length);
  let index = 1;
  let count = 1;
  const split = /^(.+)-([0-9]{5})-of-([0-9]{5})$/i.exec(prefix);
  if (split) {
    prefix = split[1];
    index = Number(split[2]);
    count = Number(split[3]);
  }
  const tag = /[-.]([A-Z0-9_]+)$/i.exec(prefix)?.[1].toUpperCase() ?? '';
  return { prefix, tag, index, count };
}

/** Q4_0 -> 4, F16 -> 16, Q8_K_M -> 8; 0 when the tag has no number. */
function quantBits(tag: string): number {
  const m = /[0-9]+/.exec(tag);
  return m ? Number(m[0]) : 0;
}

function isModelGguf(path: string): boolean {
  if (!path.endsWith('.gguf')) return false;
  const name = path.slice(path.lastIndexOf('/') + 1);
  return !['mmproj', 'imatrix', 'mtp-', 'eagle3-', 'dflash-', 'dspark-'].some((k) => name.includes(k));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function findBestModel(files: Candidate[], quant: string | undefined): Candidate | undefined {
  const firstPart = (f: Candidate) => {
    const s = splitInfo(f.path);
    return isModelGguf(f.path) && !(s.count > 1 && s.index !== 1);
  };
  for (const tag of quant ? [quant] : DEFAULT_QUANTS) {
    const pattern = new RegExp(escapeRegExp(tag) + '[.-]', 'i');
    const hit = files.find((f) => firstPart(f) && pattern.test(f.path));
    if (hit) return hit;
  }
  return quant ? undefined : files.find(firstPart);
}

/** All parts of a split model (just the file when it is not split). */
function splitParts(files: Candidate[], primary: Candidate): Candidate[] {
  const s = splitInfo(primary.path);
  if (s.count <= 1) return [primary];
  return files
    .filter((f) => {
      const o = splitInfo(f.path);
      return o.count === s.count && o.prefix === s.prefix;
    })
    .sort((a, b) => splitInfo(a.path).index - splitInfo(b.path).index);
}

/**
 * The .gguf whose name contains `keyword` that sits in the model's directory or above (deepest
 * first), with the quantization closest to the model's.
 */
function findBestSibling(files: Candidate[], model: string, keyword: string): Candidate | undefined {
  const modelBits = quantBits(splitInfo(model).tag);
  const modelDirs = model.split('/').slice(0, -1);
  let best: Candidate | undefined;
  let bestDepth = -1;
  let bestDiff = 0;
  for (const f of files) {
    if (!f.path.endsWith('.gguf') || !f.path.includes(keyword)) continue;
    const dirs = f.path.split('/').slice(0, -1);
    if (dirs.length > modelDirs.length || dirs.some((d, i) => d !== modelDirs[i])) continue;
    const diff = Math.abs(quantBits(splitInfo(f.path).tag) - modelBits);
    if (!best || dirs.length > bestDepth || (dirs.length === bestDepth && diff < bestDiff)) {
      best = f;
      bestDepth = dirs.length;
      bestDiff = diff;
    }
  }
  return best;
}

interface Plan { primary: Candidate; parts: Candidate[]; mmproj?: Candidate }

function plan(files: Candidate[], quant: string | undefined): Plan | undefined {
  const primary = findBestModel(files, quant);
  if (!primary) return undefined;
  return { primary, parts: splitParts(files, primary), mmproj: findBestSibling(files, primary.path, 'mmproj') };
}

function describeWanted(quant: string | undefined): string {
  return `a model .gguf matching ${quant ?? DEFAULT_QUANTS.join(' or ')} and its projector (mmproj*.gguf)`;
}

// ---------------------------------------------------------------------------------------------
// Options and errors

interface Ctx {
  endpoint: string;
  token?: string;
  cacheDir: string;
  offline: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  timeoutMs: number;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

function context(options: HubOptions): Ctx {
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
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2_147_483_647) throw invalid(`timeoutMs must be a positive number of ms below 2^31, got ${timeoutMs}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress must be a function');
  const token = nonEmpty(options.token) ?? nonEmpty(env.HF_TOKEN);
  return {
    endpoint,
    token: token?.trim(),
    cacheDir: resolve(nonEmpty(options.cacheDir) ?? hubCacheDir()),
    offline: options.offline ?? truthy(env.HF_HUB_OFFLINE),
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs,
  };
}

/** Network-level failures a retry (or the cache) may get around. */
const transient = new WeakSet<Error>();

function retryable<E extends Error>(err: E): E {
  transient.add(err);
  return err;
}

function aborted(what: string): AbortError {
  return new AbortError('ERR_ABORTED', `download aborted: ${what}`);
}

function throwIfAborted(ctx: Ctx, what: string): void {
  if (ctx.signal?.aborted) throw aborted(what);
}

/** A URL without its query (signed CDN URLs carry credentials there). */
function shown(url: string): string {
  try {
    const u = new URL(url);
    u.search = '';
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string' && 'path' in err;
}

function fsFailure(err: NodeJS.ErrnoException, what: string): DownloadError {
  return new DownloadError('ERR_DOWNLOAD_FAILED', `cannot ${what}: ${err.message}`, { cause: err });
}

/** Turns whatever a request threw into a typed error naming the URL. */
function failure(ctx: Ctx, err: unknown, url: string, wd: Watchdog): Error {
  if (err instanceof SmolVLMError) return err;
  if (ctx.signal?.aborted) return aborted(shown(url));
  if (isFsError(err)) return fsFailure(err, `write ${err.path}`);
  if (wd.timedOut) {
    return retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: nothing received for ${ctx.timeoutMs} ms (timeoutMs)`, { cause: err }));
  }
  const e = err as Error & { cause?: unknown };
  const why = e?.cause instanceof Error ? `${e.message} (${e.cause.message})` : e instanceof Error ? e.message : String(err);
  return retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: ${why}`, { cause: err }));
}

/** The typed error for an HTTP error status. */
function statusError(ctx: Ctx, res: Response, url: string, repo: string): DownloadError {
  const hubCode = res.headers.get('x-error-code') ?? '';
  const hubMessage = res.headers.get('x-error-message');
  const detail = `HTTP ${res.status}${hubMessage ? ` (${hubMessage})` : ''} from ${shown(url)}`;
  if (res.status === 401 || res.status === 403) {
    const hint = hubCode === 'GatedRepo'
      ? `${repo} is gated: accept its conditions at ${ctx.endpoint}/${repo} and set HF_TOKEN (or the token option) to an access token of that account`
      : ctx.token
        ? `the token given (HF_TOKEN or the token option) has no access to ${repo}`
        : `${repo} is private, gated or does not exist: set HF_TOKEN (or the token option) to an access token`;
    return new DownloadError('ERR_HUB_UNAUTHORIZED', `not authorized: ${detail}: ${hint}`);
  }
  if (res.status === 404) {
    const what = hubCode === 'EntryNotFound' ? 'file' : hubCode === 'RevisionNotFound' ? 'revision' : 'repository or file';
    return new DownloadError('ERR_MODEL_NOT_FOUND', `${what} not found: ${repo}: ${detail}`);
  }
  const err = new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${detail}`);
  return res.status === 408 || res.status === 429 || res.status >= 500 ? retryable(err) : err;
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Aborts a request when nothing arrived for `ms`; kick() on each chunk. */
class Watchdog {
  readonly controller = new AbortController();
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, ms);
  }
  kick(): void {
    this.timer.refresh();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

async function httpGet(ctx: Ctx, url: string, wd: Watchdog, headers: Record<string, string>): Promise<Response> {
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, wd.controller.signal]) : wd.controller.signal;
  const all: Record<string, string> = { 'user-agent': USER_AGENT, ...headers };
  if (ctx.token) all.authorization = `Bearer ${ctx.token}`;
  const res = await fetch(url, { headers: all, signal, redirect: 'follow' });
  wd.kick();
  return res;
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

async function apiGet(ctx: Ctx, url: string, repo: string): Promise<{ json: unknown; next?: string }> {
  throwIfAborted(ctx, shown(url));
  const wd = new Watchdog(ctx.timeoutMs);
  try {
    const res = await httpGet(ctx, url, wd, { accept: 'application/json' });
    if (!res.ok) {
      await discard(res);
      throw statusError(ctx, res, url, repo);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)} did not answer JSON`);
    }
    const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(res.headers.get('link') ?? '')?.[1];
    return { json, next: next ? new URL(next, url).href : undefined };
  } catch (err) {
    throw failure(ctx, err, url, wd);
  } finally {
    wd.stop();
  }
}

const HEX40 = /^[0-9a-f]{40}$/i;
const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

function isSafeRelPath(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !p.includes('\0') && !/^[a-z]:/i.test(p) &&
    p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** refs -> the commit of main (else the first valid branch), as hf-cache.cpp's get_repo_commit. */
async function remoteCommit(ctx: Ctx, repo: string): Promise<{ branch: string; commit: string }> {
  const url = `${ctx.endpoint}/api/models/${repo}/refs`;
  const { json } = await apiGet(ctx, url, repo);
  const branches = (json as { branches?: unknown })?.branches;
  if (!Array.isArray(branches)) throw new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: no 'branches' in the answer`);
  let found: { branch: string; commit: string } | undefined;
  for (const b of branches as { name?: unknown; targetCommit?: unknown }[]) {
    if (typeof b?.name !== 'string' || typeof b.targetCommit !== 'string') continue;
    if (!isSafeRelPath(b.name) || !HEX40.test(b.targetCommit)) continue;
    if (b.name === 'main') return { branch: 'main', commit: b.targetCommit.toLowerCase() };
    found ??= { branch: b.name, commit: b.targetCommit.toLowerCase() };
  }
  if (!found) throw new DownloadError('ERR_MODEL_NOT_FOUND', `repository ${repo} has no branch to download (${shown(url)})`);
  return found;
}

/** The commit's files (following the tree API's pagination). */
async function remoteFiles(ctx: Ctx, repo: string, commit: string): Promise<Candidate[]> {
  const files: Candidate[] = [];
  let url: string | undefined = `${ctx.endpoint}/api/models/${repo}/tree/${commit}?recursive=true`;
  for (let page = 0; url && page < 1000; page++) {
    const { json, next }: { json: unknown; next?: string } = await apiGet(ctx, url, repo);
    if (!Array.isArray(json)) throw new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: the file list is not an array`);
    for (const item of json as Record<string, unknown>[]) {
      if (item?.type !== 'file' || typeof item.path !== 'string' || !isSafeRelPath(item.path)) continue;
      const lfs = item.lfs as { oid?: unknown; size?: unknown } | undefined;
      const oid = lfs && typeof lfs === 'object' ? lfs.oid : item.oid;
      const size = lfs && typeof lfs === 'object' && typeof lfs.size === 'number' ? lfs.size : item.size;
      if (typeof oid !== 'string' || !OID_RE.test(oid) || typeof size !== 'number' || !(size >= 0)) continue;
      files.push({ path: item.path, size, oid: oid.toLowerCase(), lfs: !!lfs && typeof lfs === 'object' });
    }
    url = next;
  }
  return files;
}

function resolveUrl(ctx: Ctx, repo: string, commit: string, path: string): string {
  return `${ctx.endpoint}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// Files

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function tmpName(path: string): string {
  return `${path}.smolvlm-${randomBytes(6).toString('hex')}.tmp`;
}

/** Writes a small file atomically. */
async function writeAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** sha256 for LFS files; git's blob sha1 for the others. */
function hasher(f: Candidate): Hash {
  if (f.oid && f.oid.length === 64) return createHash('sha256');
  return createHash('sha1').update(`blob ${f.size}\0`);
}

async function hashFile(path: string, hash: Hash, signal?: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
}

class Progress {
  private last = 0;
  constructor(private readonly ctx: Ctx, private readonly file: string, private readonly total: number) {}
  update(downloaded: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.emit(downloaded);
  }
  done(): void {
    this.emit(this.total);
  }
  private emit(downloaded: number): void {
    if (!this.ctx.onProgress) return;
    try {
      this.ctx.onProgress({ file: this.file, downloaded, total: this.total });
    } catch {
      // a failing progress callback must not break the download
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Locks: blobs/{oid}.lock, created exclusively, holding the owner's pid

interface LockInfo { pid?: number; host?: string; token?: string }

interface Lock {
  touch(): Promise<void>;
  owned(): Promise<boolean>;
  release(): Promise<void>;
}

const heldLocks = new Set<string>();
let exitHook = false;

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

async function tryLock(path: string): Promise<Lock | undefined> {
  const token = randomBytes(8).toString('hex');
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw fsFailure(err as NodeJS.ErrnoException, `create the lock ${path}`);
  }
  try {
    await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), token, created: new Date().toISOString() }));
  } finally {
    await fh.close();
  }
  heldLocks.add(path);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const p of heldLocks) {
        try {
          unlinkSync(p);
        } catch {
          // gone already
        }
      }
    });
  }
  let touched = Date.now();
  const owned = async () => (await readLock(path))?.token === token;
  return {
    async touch() {
      if (Date.now() - touched < LOCK_TOUCH_MS) return;
      touched = Date.now();
      await utimes(path, new Date(), new Date()).catch(() => {});
    },
    owned,
    async release() {
      heldLocks.delete(path);
      if (await owned()) await rm(path, { force: true });
    },
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a stale lock, unless someone replaced it meanwhile. */
async function breakLock(path: string, ino: number): Promise<void> {
  const moved = tmpName(path);
  try {
    await rename(path, moved);
  } catch {
    return;
  }
  try {
    if ((await stat(moved)).ino !== ino) await link(moved, path).catch(() => {});
  } finally {
    await rm(moved, { force: true });
  }
}

/**
 * Waits while another process holds the lock: 'done' when the blob appeared, 'retry' when the
 * lock went away or went stale (its owner died, or lock and partial file stood still too long).
 */
async function waitForOther(ctx: Ctx, lockPath: string, blob: string, partial: string, f: Candidate, progress: Progress): Promise<'done' | 'retry'> {
  for (;;) {
    if ((await sizeOf(blob)) === f.size) return 'done';
    let st;
    try {
      st = await stat(lockPath);
    } catch {
      return 'retry';
    }
    const info = await readLock(lockPath);
    let partialMtime = 0;
    try {
      const p = await stat(partial);
      partialMtime = p.mtimeMs;
      progress.update(p.size);
    } catch {
      // not started yet
    }
    const quiet = Date.now() - Math.max(st.mtimeMs, partialMtime);
    // A pid that looks dead may live in another PID namespace (a container on the same host):
    // only trust it once the owner has also missed its lock refreshes.
    const dead = info?.host === hostname() && typeof info.pid === 'number' && info.pid !== process.pid && !pidAlive(info.pid) && quiet > 2 * LOCK_TOUCH_MS;
    const idle = quiet > LOCK_STALE_MS;
    if (dead || idle) {
      await breakLock(lockPath, st.ino);
      return 'retry';
    }
    try {
      await sleep(LOCK_POLL_MS, undefined, { signal: ctx.signal });
    } catch {
      throw aborted(f.path);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Downloading one blob

class ChecksumError extends DownloadError {
  resumed = false;
}

/** One attempt: resume (or start) the partial file, verify it, rename it to the blob. */
async function transfer(ctx: Ctx, repo: string, url: string, f: Candidate, partial: string, blob: string, lock: Lock, progress: Progress): Promise<void> {
  let have = (await sizeOf(partial)) ?? 0;
  if (have > f.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  const resumed = have > 0;
  let hash = hasher(f);
  if (have > 0) {
    try {
      await hashFile(partial, hash, ctx.signal);
    } catch (err) {
      if (ctx.signal?.aborted) throw aborted(f.path);
      throw fsFailure(err as NodeJS.ErrnoException, `read ${partial}`);
    }
  }
  if (have < f.size) {
    const wd = new Watchdog(ctx.timeoutMs);
    const accept = { 'accept-encoding': 'identity' };
    try {
      let res = await httpGet(ctx, url, wd, have > 0 ? { ...accept, range: `bytes=${have}-` } : accept);
      let append = false;
      if (have > 0) {
        const start = /^bytes\s+(\d+)-/i.exec(res.headers.get('content-range') ?? '')?.[1];
        append = res.status === 206 && Number(start) === have;
        if (!append && res.status !== 200) {
          // 416, or a range other than the one asked for: start over
          await discard(res);
          if (res.status !== 416 && !res.ok) throw statusError(ctx, res, url, repo);
          res = await httpGet(ctx, url, wd, accept);
        }
      }
      if (res.status !== 200 && !append) {
        await discard(res);
        throw res.ok ? new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: HTTP ${res.status} from ${shown(url)}`) : statusError(ctx, res, url, repo);
      }
      if (!append) {
        have = 0;
        hash = hasher(f);
      }
      progress.update(have, true);
      const fh = await open(partial, append ? 'a' : 'w');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          wd.kick();
          if (have + chunk.byteLength > f.size) {
            await fh.close().catch(() => {});
            await rm(partial, { force: true });
            throw new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)} sent more than the ${f.size} bytes the hub lists`);
          }
          await fh.write(chunk);
          hash.update(chunk);
          have += chunk.byteLength;
          progress.update(have);
          await lock.touch();
        }
        await fh.sync();
      } finally {
        await fh.close().catch(() => {});
      }
    } catch (err) {
      throw failure(ctx, err, url, wd);
    } finally {
      wd.stop();
    }
  }
  if (have !== f.size) {
    throw retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: the transfer ended at ${have} of ${f.size} bytes`));
  }
  const digest = hash.digest('hex');
  if (digest !== f.oid) {
    await rm(partial, { force: true });
    const err = new ChecksumError('ERR_CHECKSUM_MISMATCH',
      `checksum mismatch for ${f.path} from ${shown(url)}: expected ${f.lfs ? 'sha256' : 'git oid'} ${f.oid}, got ${digest}; the download was deleted`);
    err.resumed = resumed;
    throw err;
  }
  if (!(await lock.owned())) throw retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: lost the lock on ${blob}`));
  try {
    await rename(partial, blob);
  } catch (err) {
    throw fsFailure(err as NodeJS.ErrnoException, `move ${partial} to ${blob}`);
  }
}

/** Makes sure blobs/{oid} is there: downloads it under the lock, or waits for whoever holds it. */
async function fetchBlob(ctx: Ctx, repo: string, url: string, f: Candidate, blob: string, progress: Progress): Promise<void> {
  const lockPath = `${blob}.lock`;
  const partial = `${blob}.incomplete`;
  try {
    await mkdir(dirname(blob), { recursive: true });
  } catch (err) {
    throw fsFailure(err as NodeJS.ErrnoException, `create ${dirname(blob)}`);
  }
  for (;;) {
    throwIfAborted(ctx, f.path);
    const lock = await tryLock(lockPath);
    if (!lock) {
      if ((await waitForOther(ctx, lockPath, blob, partial, f, progress)) === 'done') return;
      continue;
    }
    try {
      if ((await sizeOf(blob)) === f.size) return;
      let retriedChecksum = false;
      for (let attempt = 1; ; attempt++) {
        const before = (await sizeOf(partial)) ?? 0;
        try {
          await transfer(ctx, repo, url, f, partial, blob, lock, progress);
          return;
        } catch (err) {
          // a partial file left by an earlier run that does not add up: once more from scratch
          if (err instanceof ChecksumError && err.resumed && !retriedChecksum) {
            retriedChecksum = true;
            continue;
          }
          if (!(err instanceof Error) || !transient.has(err) || attempt >= MAX_ATTEMPTS || ctx.signal?.aborted) throw err;
          // retry at once when the attempt got somewhere, else back off
          if (((await sizeOf(partial)) ?? 0) <= before) {
            try {
              await sleep(1000 * attempt, undefined, { signal: ctx.signal });
            } catch {
              throw aborted(f.path);
            }
          }
        }
      }
    } finally {
      await lock.release();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

function noSymlinks(): boolean {
  return truthy(process.env.SMOLVLM_HUB_NO_SYMLINKS);
}

/** snapshots/{commit}/{path} -> ../../blobs/{oid} (relative), or a hard link / copy without symlinks. */
async function linkSnapshot(blob: string, snap: string): Promise<void> {
  await mkdir(dirname(snap), { recursive: true });
  const tmp = tmpName(snap);
  try {
    let made = false;
    if (!noSymlinks()) {
      try {
        await symlink(relative(dirname(snap), blob), tmp);
        made = true;
      } catch {
        // no symlinks here (Windows without developer mode, some file systems)
      }
    }
    if (!made) {
      try {
        await link(blob, tmp);
      } catch {
        await copyFile(blob, tmp);
      }
    }
    await rename(tmp, snap);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fsFailure(err as NodeJS.ErrnoException, `link ${snap} to ${blob}`);
  }
}

function snapshotPath(repoDir: string, commit: string, path: string): string {
  return join(repoDir, 'snapshots', commit, ...path.split('/'));
}

function hubFile(f: Candidate, localPath: string): HubFile {
  return { path: f.path, size: f.size, ...(f.oid && f.oid.length === 64 ? { sha256: f.oid } : {}), localPath };
}

/** The file in the snapshot, downloaded first when it is not in the cache. */
async function ensureFile(ctx: Ctx, repo: string, repoDir: string, commit: string, f: Candidate): Promise<HubFile> {
  const snap = snapshotPath(repoDir, commit, f.path);
  const blob = join(repoDir, 'blobs', f.oid!);
  const progress = new Progress(ctx, f.path, f.size);
  if ((await sizeOf(snap)) !== f.size) {
    if ((await sizeOf(blob)) !== f.size) await fetchBlob(ctx, repo, resolveUrl(ctx, repo, commit, f.path), f, blob, progress);
    await linkSnapshot(blob, snap);
  }
  progress.done();
  return hubFile(f, snap);
}

// ---------------------------------------------------------------------------------------------
// The cache, read without the network

async function readRef(repoDir: string): Promise<string | undefined> {
  const refs = join(repoDir, 'refs');
  const read = async (p: string) => {
    try {
      const c = (await readFile(p, 'utf8')).trim();
      return HEX40.test(c) ? c.toLowerCase() : undefined;
    } catch {
      return undefined;
    }
  };
  const main = await read(join(refs, 'main'));
  if (main) return main;
  let names: string[];
  try {
    names = (await readdir(refs, { recursive: true })).map(String).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    if (TMP_SUFFIX.test(n)) continue;
    const c = await read(join(refs, n));
    if (c) return c;
  }
  return undefined;
}

/** The snapshot's files, a broken link as `missing`. */
async function snapshotFiles(dir: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const walk = async (sub: string) => {
    let entries;
    try {
      entries = await readdir(join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      const full = join(dir, rel);
      if (e.isDirectory()) await walk(rel);
      else if ((e.isFile() || e.isSymbolicLink()) && !TMP_SUFFIX.test(e.name)) {
        let oid: string | undefined;
        if (e.isSymbolicLink()) {
          const target = basename(await readlink(full).catch(() => ''));
          if (OID_RE.test(target)) oid = target.toLowerCase();
        }
        try {
          const st = await stat(full);
          if (st.isFile()) out.push({ path: rel, size: st.size, oid, localPath: full });
        } catch {
          out.push({ path: rel, size: 0, oid, missing: true });
        }
      }
    }
  };
  await walk('');
  return out;
}

async function cachedSnapshot(cacheDir: string, repo: string): Promise<{ commit: string; files: Candidate[] } | undefined> {
  const repoDir = join(cacheDir, repoFolder(repo));
  const commit = await readRef(repoDir);
  if (!commit) return undefined;
  const dir = join(repoDir, 'snapshots', commit);
  try {
    if (!(await stat(dir)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return { commit, files: await snapshotFiles(dir) };
}

function offlineError(ctx: Ctx, repo: string, quant: string | undefined, needed: string, why: string): DownloadError {
  const ref = quant ? `${repo}:${quant}` : repo;
  return new DownloadError('ERR_OFFLINE',
    `${ref} is not in the model cache (${ctx.cacheDir})${why}; needed: ${needed}. ` +
    `Download it while online with \`smolvlm pull ${ref}\` (or pullModel('${repo}'${quant ? `, '${quant}'` : ''})), ` +
    `or load local files: loadModel({ model: '/path/model.gguf', mmproj: '/path/mmproj.gguf' })`);
}

/** Resolves `repo[:quant]` from the cache alone, by the same rules as online. */
async function resolveCached(ctx: Ctx, repo: string, quant: string | undefined, why: string): Promise<ResolvedModel> {
  const snap = await cachedSnapshot(ctx.cacheDir, repo);
  if (!snap) throw offlineError(ctx, repo, quant, describeWanted(quant), why);
  const p = plan(snap.files, quant);
  if (!p) {
    const have = snap.files.filter((f) => f.path.endsWith('.gguf')).map((f) => f.path);
    throw offlineError(ctx, repo, quant, describeWanted(quant), `${why}${have.length ? `; cached: ${have.join(', ')}` : ''}`);
  }
  const missing = [...p.parts, ...(p.mmproj ? [p.mmproj] : [])].filter((f) => f.missing).map((f) => f.path);
  if (missing.length) throw offlineError(ctx, repo, quant, missing.join(', '), `${why} (snapshot ${snap.commit} lacks them)`);
  for (const f of [...p.parts, ...(p.mmproj ? [p.mmproj] : [])]) new Progress(ctx, f.path, f.size).done();
  return {
    repo,
    commit: snap.commit,
    model: hubFile(p.primary, p.primary.localPath!),
    ...(p.mmproj ? { mmproj: hubFile(p.mmproj, p.mmproj.localPath!) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Public API

function repoArgs(repoRef: string, quant: string | undefined): { repo: string; quant?: string } {
  const parsed = typeof repoRef === 'string' ? parseRepoRef(repoRef) : undefined;
  if (!parsed) throw invalid(`not a hub repository: '${String(repoRef)}' (expected 'org/name' or 'org/name:quant')`);
  if (quant !== undefined && quant !== null) {
    if (typeof quant !== 'string' || !QUANT_RE.test(quant)) throw invalid(`not a quantization: '${String(quant)}'`);
    if (parsed.quant && parsed.quant.toLowerCase() !== quant.toLowerCase()) {
      throw invalid(`two quantizations asked for: '${repoRef}' and '${quant}'`);
    }
    return { repo: parsed.repo, quant };
  }
  return parsed;
}

function listGguf(files: Candidate[]): string {
  const names = files.filter((f) => f.path.endsWith('.gguf')).map((f) => f.path);
  return names.length ? names.join(', ') : 'none';
}

/**
 * Resolves `repo[:quant]` and makes sure the model (all its parts when split) and its projector
 * are in the cache, downloading what is missing. Offline (option or HF_HUB_OFFLINE=1) it uses the
 * cache alone; online, when the hub cannot be reached, it falls back to the cache too.
 * @throws DownloadError (ERR_DOWNLOAD_FAILED, ERR_CHECKSUM_MISMATCH, ERR_HUB_UNAUTHORIZED,
 *   ERR_MODEL_NOT_FOUND, ERR_OFFLINE), AbortError, InvalidArgumentError
 */
export async function pullModel(repo: string, quant: string | undefined, options: HubOptions = {}): Promise<ResolvedModel> {
  const ctx = context(options ?? {});
  const args = repoArgs(repo, quant);
  throwIfAborted(ctx, args.repo);
  if (ctx.offline) return resolveCached(ctx, args.repo, args.quant, ' and offline mode is on (HF_HUB_OFFLINE=1 or offline: true)');

  let commit: string;
  let branch: string;
  let files: Candidate[];
  try {
    ({ commit, branch } = await remoteCommit(ctx, args.repo));
    files = await remoteFiles(ctx, args.repo, commit);
  } catch (err) {
    // the hub is unreachable: what the cache has will do (as llama.cpp and huggingface_hub do)
    if (err instanceof Error && transient.has(err) && !ctx.signal?.aborted) {
      const cached = await resolveCached(ctx, args.repo, args.quant, '').catch(() => undefined);
      if (cached) return cached;
    }
    throw err;
  }

  const p = plan(files, args.quant);
  if (!p) {
    throw new DownloadError('ERR_MODEL_NOT_FOUND', args.quant
      ? `no model file for quantization '${args.quant}' in ${args.repo}; its GGUF files: ${listGguf(files)}`
      : `no GGUF model file in ${args.repo}; its GGUF files: ${listGguf(files)}`);
  }
  const repoDir = join(ctx.cacheDir, repoFolder(args.repo));
  const done: HubFile[] = [];
  for (const f of [...p.parts, ...(p.mmproj ? [p.mmproj] : [])]) done.push(await ensureFile(ctx, args.repo, repoDir, commit, f));
  try {
    await writeAtomic(join(repoDir, 'refs', ...branch.split('/')), commit);
  } catch (err) {
    throw fsFailure(err as NodeJS.ErrnoException, `write ${join(repoDir, 'refs', branch)}`);
  }
  return {
    repo: args.repo,
    commit,
    model: done[p.parts.indexOf(p.primary)],
    ...(p.mmproj ? { mmproj: done[done.length - 1] } : {}),
  };
}

/** Bytes under `dir` in regular files, each inode counted once. */
async function diskUsage(dir: string, seen: Set<string>): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(full, seen);
    else if (e.isFile()) {
      try {
        const st = await lstat(full);
        const key = `${st.dev}:${st.ino}`;
        if (!seen.has(key)) {
          seen.add(key);
          total += st.size;
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

/** The repositories in the cache, with the files of the snapshot their ref points to. */
export async function listCached(options: Pick<HubOptions, 'cacheDir'> = {}): Promise<CachedRepo[]> {
  const cacheDir = resolve(nonEmpty(options?.cacheDir) ?? hubCacheDir());
  let folders: string[];
  try {
    folders = (await readdir(cacheDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
  const out: CachedRepo[] = [];
  for (const folder of folders) {
    const repo = folderRepo(folder);
    if (!repo) continue;
    const snap = await cachedSnapshot(cacheDir, repo);
    if (!snap) continue;
    const repoDir = join(cacheDir, folder);
    const seen = new Set<string>();
    const sizeBytes = (await diskUsage(join(repoDir, 'blobs'), seen)) + (await diskUsage(join(repoDir, 'snapshots'), seen));
    out.push({
      repo,
      commit: snap.commit,
      files: snap.files.filter((f) => !f.missing).map((f) => ({ path: f.path, size: f.size, localPath: f.localPath! })),
      sizeBytes,
    });
  }
  return out;
}

/** Deletes a repository from the cache (all its snapshots and blobs); false when it was not there. */
export async function removeCached(repo: string, options: Pick<HubOptions, 'cacheDir'> = {}): Promise<boolean> {
  if (typeof repo !== 'string' || !isValidRepo(repo)) throw invalid(`not a hub repository: '${String(repo)}' (expected 'org/name')`);
  const cacheDir = resolve(nonEmpty(options?.cacheDir) ?? hubCacheDir());
  const repoDir = join(cacheDir, repoFolder(repo));
  if (!isAbsolute(repoDir) || dirname(repoDir) !== cacheDir) throw invalid(`not a hub repository: '${repo}'`);
  try {
    await lstat(repoDir);
  } catch {
    return false;
  }
  await rm(repoDir, { recursive: true, force: true });
  return true;
}
