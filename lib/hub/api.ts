/**
 * The hub's API as this library uses it: a repository's branches (-> the commit to download), the
 * commit's file listing, and a file's download URL. Everything the hub answers is checked before
 * it is used: commit ids, blob ids, sizes, and paths that stay inside the snapshot.
 */
import { DownloadError } from '../errors.js';
import type { Ctx } from './context.js';
import { shown, throwIfAborted } from './failures.js';
import { discard, failure, httpGet, statusError, Watchdog } from './http.js';
import { HEX40, OID_RE } from './refs.js';
import type { RepoFile } from './select.js';

/** GET a JSON answer; `next` is the page after it (the Link header), absolute. */
async function apiGet(ctx: Ctx, url: string, repo: string): Promise<{ json: unknown; next?: string }> {
  throwIfAborted(ctx.signal, shown(url));
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

/** A relative path that stays where it is put: no absolute, `..`, `.`, empty or backslash parts. */
export function isSafeRelPath(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !p.includes('\0') && !/^[a-z]:/i.test(p) &&
    p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** refs -> the commit of main (else the first valid branch), as hf-cache.cpp's get_repo_commit. */
export async function remoteCommit(ctx: Ctx, repo: string): Promise<{ branch: string; commit: string }> {
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
export async function remoteFiles(ctx: Ctx, repo: string, commit: string): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
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

/** The download URL of a file of a commit. */
export function resolveUrl(ctx: Ctx, repo: string, commit: string, path: string): string {
  return `${ctx.endpoint}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}
