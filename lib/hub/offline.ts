/**
 * Resolving `repo[:quant]` from the cache alone, by the same rules as online: in offline mode,
 * and as the fallback when the hub cannot be reached.
 */
import { DownloadError } from '../errors.js';
import type { Ctx } from './context.js';
import { Progress } from './progress.js';
import { describeWanted, selectedFiles, selectFiles } from './select.js';
import { cachedSnapshot, hubFile } from './snapshot.js';
import type { ResolvedModel } from '../types.js';

function offlineError(ctx: Ctx, repo: string, quant: string | undefined, needed: string, why: string): DownloadError {
  const ref = quant ? `${repo}:${quant}` : repo;
  return new DownloadError('ERR_OFFLINE',
    `${ref} is not in the model cache (${ctx.cacheDir})${why}; needed: ${needed}. ` +
    `Download it while online with \`smolvlm pull ${ref}\` (or pullModel('${repo}'${quant ? `, '${quant}'` : ''})), ` +
    `or load local files: loadModel({ model: '/path/model.gguf', mmproj: '/path/mmproj.gguf' })`);
}

/**
 * The cached files `repo[:quant]` selects; `why` says why the cache is asked (it ends the error).
 * @throws DownloadError ERR_OFFLINE naming what is needed and what the cache has
 */
export async function resolveCached(ctx: Ctx, repo: string, quant: string | undefined, why: string): Promise<ResolvedModel> {
  const snap = await cachedSnapshot(ctx.cacheDir, repo);
  if (!snap) throw offlineError(ctx, repo, quant, describeWanted(quant), why);
  const s = selectFiles(snap.files, quant);
  if (!s) {
    const have = snap.files.filter((f) => f.path.endsWith('.gguf')).map((f) => f.path);
    throw offlineError(ctx, repo, quant, describeWanted(quant), `${why}${have.length ? `; cached: ${have.join(', ')}` : ''}`);
  }
  const needed = selectedFiles(s);
  const missing = needed.filter((f) => f.missing).map((f) => f.path);
  if (missing.length) throw offlineError(ctx, repo, quant, missing.join(', '), `${why} (snapshot ${snap.commit} lacks them)`);
  for (const f of needed) new Progress(ctx.onProgress, f.path, f.size).done();
  return {
    repo,
    commit: snap.commit,
    model: hubFile(s.primary, s.primary.localPath!),
    ...(s.mmproj ? { mmproj: hubFile(s.mmproj, s.mmproj.localPath!) } : {}),
  };
}
