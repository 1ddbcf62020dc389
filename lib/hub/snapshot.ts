/**
 * huggingface_hub's cache layout, which llama.cpp shares:
 *
 *     {cacheDir}/models--{org}--{name}/blobs/{oid}
 *     {cacheDir}/models--{org}--{name}/snapshots/{commit}/{path}  -> ../../blobs/{oid}
 *     {cacheDir}/models--{org}--{name}/refs/{branch}              (the commit)
 *
 * Reading it (which commit a ref names, what a snapshot holds) and writing it (snapshot links,
 * refs). Blobs are downloaded by transfer.ts.
 */
import { copyFile, link, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { truthy } from './context.js';
import { fsFailure } from './failures.js';
import { TMP_SUFFIX, tmpName, writeAtomic } from '../fs.js';
import { HEX40, OID_RE, repoFolder } from './refs.js';
import type { RepoFile } from './select.js';
import type { HubFile } from '../types.js';

/** A repository's folder in the cache. */
export function repoDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repoFolder(repo));
}

export function blobPath(repoDir: string, oid: string): string {
  return join(repoDir, 'blobs', oid);
}

export function snapshotPath(repoDir: string, commit: string, path: string): string {
  return join(repoDir, 'snapshots', commit, ...path.split('/'));
}

/** The public description of a file at `localPath`. */
export function hubFile(f: RepoFile, localPath: string): HubFile {
  return { path: f.path, size: f.size, ...(f.oid && f.oid.length === 64 ? { sha256: f.oid } : {}), localPath };
}

function noSymlinks(): boolean {
  return truthy(process.env.SMOLVLM_HUB_NO_SYMLINKS);
}

/** snapshots/{commit}/{path} -> ../../blobs/{oid} (relative), or a hard link / copy without symlinks. */
export async function linkSnapshot(blob: string, snap: string): Promise<void> {
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

/** refs/{branch} := commit. */
export async function writeRef(repoDir: string, branch: string, commit: string): Promise<void> {
  try {
    await writeAtomic(join(repoDir, 'refs', ...branch.split('/')), commit);
  } catch (err) {
    throw fsFailure(err as NodeJS.ErrnoException, `write ${join(repoDir, 'refs', branch)}`);
  }
}

/** The commit refs/main names, else the first other ref (by name) that names one. */
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
async function snapshotFiles(dir: string): Promise<RepoFile[]> {
  const out: RepoFile[] = [];
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

/** The commit the repository's ref names and the files of its snapshot; undefined when either is missing. */
export async function cachedSnapshot(cacheDir: string, repo: string): Promise<{ commit: string; files: RepoFile[] } | undefined> {
  const dir = repoDir(cacheDir, repo);
  const commit = await readRef(dir);
  if (!commit) return undefined;
  const snap = join(dir, 'snapshots', commit);
  try {
    if (!(await stat(snap)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return { commit, files: await snapshotFiles(snap) };
}
