/**
 * `pullModel`: resolve `repo[:quant]` on the hub (branch -> commit -> file listing -> selection),
 * then make sure each selected file is in the cache snapshot, downloading the blobs that are not.
 */
import { remoteCommit, remoteFiles, resolveUrl } from './api.js';
import { context, type Ctx } from './context.js';
import { isTransient, throwIfAborted } from './failures.js';
import { sizeOf } from '../fs.js';
import { resolveCached } from './offline.js';
import { Progress } from './progress.js';
import { repoArgs } from './refs.js';
import { requireFiles, selectedFiles, type RepoFile } from './select.js';
import { blobPath, hubFile, linkSnapshot, repoDir, snapshotPath, writeRef } from './snapshot.js';
import { fetchBlob, repoDownload } from './transfer.js';
import type { HubFile, HubOptions, ResolvedModel } from '../types.js';

/** The file in the snapshot, downloaded first when it is not in the cache. */
async function ensureFile(ctx: Ctx, repo: string, dir: string, commit: string, f: RepoFile): Promise<HubFile> {
  const snap = snapshotPath(dir, commit, f.path);
  const blob = blobPath(dir, f.oid!);
  const progress = new Progress(ctx.onProgress, f.path, f.size);
  if ((await sizeOf(snap)) !== f.size) {
    if ((await sizeOf(blob)) !== f.size) await fetchBlob(ctx, repo, resolveUrl(ctx, repo, commit, f.path), repoDownload(f), blob, progress);
    await linkSnapshot(blob, snap);
  }
  progress.done();
  return hubFile(f, snap);
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
  throwIfAborted(ctx.signal, args.repo);
  if (ctx.offline) return resolveCached(ctx, args.repo, args.quant, ' and offline mode is on (HF_HUB_OFFLINE=1 or offline: true)');

  let commit: string;
  let branch: string;
  let files: RepoFile[];
  try {
    ({ commit, branch } = await remoteCommit(ctx, args.repo));
    files = await remoteFiles(ctx, args.repo, commit);
  } catch (err) {
    // the hub is unreachable: what the cache has will do (as llama.cpp and huggingface_hub do)
    if (isTransient(err) && !ctx.signal?.aborted) {
      const cached = await resolveCached(ctx, args.repo, args.quant, '').catch(() => undefined);
      if (cached) return cached;
    }
    throw err;
  }

  const s = requireFiles(files, args.repo, args.quant);
  const dir = repoDir(ctx.cacheDir, args.repo);
  const done: HubFile[] = [];
  for (const f of selectedFiles(s)) done.push(await ensureFile(ctx, args.repo, dir, commit, f));
  await writeRef(dir, branch, commit);
  return {
    repo: args.repo,
    commit,
    model: done[s.parts.indexOf(s.primary)],
    ...(s.mmproj ? { mmproj: done[done.length - 1] } : {}),
  };
}
