/**
 * Downloading one file to its place (a hub blob, `blobs/{oid}`, or a benchmark's TSV): under the
 * lock `{dest}.lock`, into `{dest}.incomplete`, resumed with a Range request where a partial file
 * is left, verified (sha256 for LFS files, git's blob sha1 for the others, VLMEvalKit's MD5 for its
 * datasets) and only then renamed into place. Transient failures are retried.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DownloadError } from '../errors.js';
import type { Ctx } from './context.js';
import { aborted, fsFailure, isTransient, pause, retryable, shown, throwIfAborted } from './failures.js';
import { sizeOf } from '../fs.js';
import { discard, failure, httpGet, statusError, Watchdog } from './http.js';
import { tryLock, waitForOther, type Lock } from './lock.js';
import type { Progress } from './progress.js';
import type { RepoFile } from './select.js';

const MAX_ATTEMPTS = 3;

class ChecksumError extends DownloadError {
  /** The partial file it was computed over came (in part) from an earlier run. */
  resumed = false;
}

/** One file to download and what it is checked against. */
export interface Download {
  /** What messages and progress events call it (the path in the repository, the dataset's name). */
  path: string;
  /** Its size; undefined when the source lists none (the response's length, then the checksum, decide). */
  size?: number;
  /** The expected digest, hex. */
  digest: string;
  /** `sha256`, `md5`, or `git-sha1` (git's blob sha1, over `blob {size}\0` + content). */
  algorithm: 'sha256' | 'md5' | 'git-sha1';
  /** How messages name the digest ("sha256", "git oid", "VLMEvalKit's MD5"). */
  label: string;
  /** Whether the destination already holds the file. Default: it has `size` bytes. */
  present?: (dest: string) => Promise<boolean>;
}

/** A hub file as a {@link Download}: sha256 for LFS files; git's blob sha1 for the others. */
export function repoDownload(f: RepoFile): Download {
  const sha256 = !!f.oid && f.oid.length === 64;
  return { path: f.path, size: f.size, digest: f.oid ?? '', algorithm: sha256 ? 'sha256' : 'git-sha1', label: f.lfs ? 'sha256' : 'git oid' };
}

function hasher(d: Download, size: number | undefined): Hash {
  if (d.algorithm === 'git-sha1') return createHash('sha1').update(`blob ${size}\0`);
  return createHash(d.algorithm);
}

async function isPresent(d: Download, dest: string): Promise<boolean> {
  if (d.present) return d.present(dest);
  return d.size !== undefined && (await sizeOf(dest)) === d.size;
}

/** The full length a response announces: Content-Range's `/total` of a 206, Content-Length of a 200. */
function announced(res: Response, offset: number): number | undefined {
  if (res.status === 206) {
    const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (total !== undefined) return Number(total);
  }
  const len = res.headers.get('content-length');
  return len !== null && /^\d+$/.test(len.trim()) ? offset + Number(len) : undefined;
}

async function hashFile(path: string, hash: Hash, signal?: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
}

/** One attempt: resume (or start) the partial file, verify it, rename it to the destination. */
async function transfer(ctx: Ctx, repo: string | undefined, url: string, f: Download, partial: string, blob: string, lock: Lock, progress: Progress): Promise<void> {
  let have = (await sizeOf(partial)) ?? 0;
  let size = f.size;
  if (size !== undefined && have > size) {
    await rm(partial, { force: true });
    have = 0;
  }
  const resumed = have > 0;
  let hash = hasher(f, size);
  if (have > 0) {
    try {
      await hashFile(partial, hash, ctx.signal);
    } catch (err) {
      if (ctx.signal?.aborted) throw aborted(f.path);
      throw fsFailure(err as NodeJS.ErrnoException, `read ${partial}`);
    }
  }
  if (size === undefined || have < size) {
    const wd = new Watchdog(ctx.timeoutMs);
    const accept = { 'accept-encoding': 'identity' };
    try {
      let res = await httpGet(ctx, url, wd, have > 0 ? { ...accept, range: `bytes=${have}-` } : accept);
      let append = false;
      let complete = false;
      if (have > 0) {
        const range = res.headers.get('content-range') ?? '';
        const start = /^bytes\s+(\d+)-/i.exec(range)?.[1];
        append = res.status === 206 && Number(start) === have;
        // no size was listed, and the partial file already holds all the server has
        complete = res.status === 416 && size === undefined && /\/(\d+)\s*$/.exec(range)?.[1] === String(have);
        if (complete) {
          await discard(res);
          size = have;
        } else if (!append && res.status !== 200) {
          // 416, or a range other than the one asked for: start over
          await discard(res);
          if (res.status !== 416 && !res.ok) throw statusError(ctx, res, url, repo);
          res = await httpGet(ctx, url, wd, accept);
        }
      }
      if (!complete) {
        if (res.status !== 200 && !append) {
          await discard(res);
          throw res.ok ? new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: HTTP ${res.status} from ${shown(url)}`) : statusError(ctx, res, url, repo);
        }
        if (!append) have = 0;
        if (f.size === undefined) size = announced(res, have);
        if (!append) hash = hasher(f, size);
        if (size !== undefined) progress.setTotal(size);
        progress.update(have, true);
        const fh = await open(partial, append ? 'a' : 'w');
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            wd.kick();
            if (size !== undefined && have + chunk.byteLength > size) {
              await fh.close().catch(() => {});
              await rm(partial, { force: true });
              const who = f.size === undefined ? 'it announced' : repo ? 'the hub lists' : 'listed';
              throw new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)} sent more than the ${size} bytes ${who}`);
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
      }
    } catch (err) {
      throw failure(ctx, err, url, wd);
    } finally {
      wd.stop();
    }
  }
  if (size !== undefined && have !== size) {
    throw retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: the transfer ended at ${have} of ${size} bytes`));
  }
  const digest = hash.digest('hex');
  if (digest !== f.digest) {
    await rm(partial, { force: true });
    const err = new ChecksumError('ERR_CHECKSUM_MISMATCH',
      `checksum mismatch for ${f.path} from ${shown(url)}: expected ${f.label} ${f.digest}, got ${digest}; the download was deleted`);
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

/**
 * Makes sure `blob` is there: downloads it under the lock, or waits for whoever holds it.
 * `repo` (a hub repository) words the errors of 401/403/404 for the hub; without it they are plain
 * ERR_DOWNLOAD_FAILED naming the URL.
 */
export async function fetchBlob(ctx: Ctx, repo: string | undefined, url: string, f: Download, blob: string, progress: Progress): Promise<void> {
  const lockPath = `${blob}.lock`;
  const partial = `${blob}.incomplete`;
  try {
    await mkdir(dirname(blob), { recursive: true });
  } catch (err) {
    throw fsFailure(err as NodeJS.ErrnoException, `create ${dirname(blob)}`);
  }
  for (;;) {
    throwIfAborted(ctx.signal, f.path);
    const lock = await tryLock(lockPath);
    if (!lock) {
      if ((await waitForOther(ctx.signal, lockPath, partial, f.path, () => isPresent(f, blob), progress)) === 'done') return;
      continue;
    }
    try {
      if (await isPresent(f, blob)) return;
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
          if (!isTransient(err) || attempt >= MAX_ATTEMPTS || ctx.signal?.aborted) throw err;
          // retry at once when the attempt got somewhere, else back off
          if (((await sizeOf(partial)) ?? 0) <= before) await pause(1000 * attempt, ctx.signal, f.path);
        }
      }
    } finally {
      await lock.release();
    }
  }
}
