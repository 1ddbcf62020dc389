/**
 * Downloading one blob, `blobs/{oid}`: under the lock, into `blobs/{oid}.incomplete`, resumed
 * with a Range request where a partial file is left, verified (sha256 for LFS files, git's blob
 * sha1 for the others) and only then renamed into place. Transient failures are retried.
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

/** sha256 for LFS files; git's blob sha1 for the others. */
function hasher(f: RepoFile): Hash {
  if (f.oid && f.oid.length === 64) return createHash('sha256');
  return createHash('sha1').update(`blob ${f.size}\0`);
}

async function hashFile(path: string, hash: Hash, signal?: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
}

/** One attempt: resume (or start) the partial file, verify it, rename it to the blob. */
async function transfer(ctx: Ctx, repo: string, url: string, f: RepoFile, partial: string, blob: string, lock: Lock, progress: Progress): Promise<void> {
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
export async function fetchBlob(ctx: Ctx, repo: string, url: string, f: RepoFile, blob: string, progress: Progress): Promise<void> {
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
      if ((await waitForOther(ctx.signal, lockPath, blob, partial, f, progress)) === 'done') return;
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
