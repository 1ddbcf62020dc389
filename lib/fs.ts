/**
 * Small file-system steps the hub cache and the eval outputs are built from: a file's size (or
 * none), temporary names that readers of the cache skip, and atomic writes (never seen half-written).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The names {@link tmpName} makes. */
export const TMP_SUFFIX = /\.smolvlm-[0-9a-f]+\.tmp$/;

/** The size of a regular file; undefined when there is none. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh temporary name beside `path`. */
export function tmpName(path: string): string {
  return `${path}.smolvlm-${randomBytes(6).toString('hex')}.tmp`;
}

/** Writes a small file atomically. */
export async function writeAtomic(path: string, data: string): Promise<void> {
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
