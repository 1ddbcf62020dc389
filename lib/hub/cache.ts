/** The cache as a user manages it: which repositories it holds and their size, and removing one. */
import { lstat, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { invalid } from '../errors.js';
import { cacheRoot } from './context.js';
import { folderRepo, isValidRepo } from './refs.js';
import { cachedSnapshot, repoDir } from './snapshot.js';
import type { CachedRepo, HubOptions } from '../types.js';

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
  const cacheDir = cacheRoot(options);
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
    const dir = join(cacheDir, folder);
    const seen = new Set<string>();
    const sizeBytes = (await diskUsage(join(dir, 'blobs'), seen)) + (await diskUsage(join(dir, 'snapshots'), seen));
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
  const cacheDir = cacheRoot(options);
  const dir = repoDir(cacheDir, repo);
  if (!isAbsolute(dir) || dirname(dir) !== cacheDir) throw invalid(`not a hub repository: '${repo}'`);
  try {
    await lstat(dir);
  } catch {
    return false;
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}
