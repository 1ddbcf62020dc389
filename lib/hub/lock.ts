/**
 * The download lock between processes: `{dest}.lock` (`blobs/{oid}.lock` in the hub cache), created exclusively, holding its
 * owner's pid, host and a token. The owner refreshes its mtime while it downloads; a waiter takes
 * over a lock whose owner died or that (with the partial file) stood still too long.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { fsFailure, pause } from './failures.js';
import { tmpName } from '../fs.js';
import type { Progress } from './progress.js';

const LOCK_POLL_MS = 200;
/** A lock whose owner shows no sign of life (lock and partial untouched) for this long is stale. */
const LOCK_STALE_MS = 5 * 60_000;
/** How often an owner refreshes its lock's mtime while downloading. */
const LOCK_TOUCH_MS = 30_000;

interface LockInfo { pid?: number; host?: string; token?: string }

/** A lock this process holds. */
export interface Lock {
  /** Refreshes the lock's mtime (at most every 30 s): the owner is alive. */
  touch(): Promise<void>;
  /** Whether the lock is still this one (nobody broke it). */
  owned(): Promise<boolean>;
  release(): Promise<void>;
}

/** Removed at exit, whatever ends the process. */
const heldLocks = new Set<string>();
let exitHook = false;

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/** Takes the lock at `path`; undefined when someone holds it. */
export async function tryLock(path: string): Promise<Lock | undefined> {
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
 * Waits while another process holds the lock at `lockPath` on the file `what`: 'done' when
 * `present()` says the file is in place, 'retry' when the lock went away or went stale (its owner
 * died, or lock and partial file stood still too long). Reports the owner's progress.
 */
export async function waitForOther(
  signal: AbortSignal | undefined, lockPath: string, partial: string, what: string, present: () => Promise<boolean>, progress: Progress,
): Promise<'done' | 'retry'> {
  for (;;) {
    if (await present()) return 'done';
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
    await pause(LOCK_POLL_MS, signal, what);
  }
}
