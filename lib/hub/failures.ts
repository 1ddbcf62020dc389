/**
 * How the hub's failures become typed errors: which ones are transient (a retry, or the cache, may
 * get around them), aborts, file-system errors, and URLs shown without their credentials.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, DownloadError } from '../errors.js';

/** Network-level failures a retry (or the cache) may get around. */
const transient = new WeakSet<Error>();

/** Marks `err` as transient and returns it. */
export function retryable<E extends Error>(err: E): E {
  transient.add(err);
  return err;
}

/** Whether `err` was marked {@link retryable}. */
export function isTransient(err: unknown): boolean {
  return err instanceof Error && transient.has(err);
}

export function aborted(what: string): AbortError {
  return new AbortError('ERR_ABORTED', `download aborted: ${what}`);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw aborted(what);
}

/** Waits `ms`; an abort meanwhile rejects with the AbortError for `what`. */
export async function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw aborted(what);
  }
}

/** A URL without its query (signed CDN URLs carry credentials there). */
export function shown(url: string): string {
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

export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string' && 'path' in err;
}

/** A file-system error as a DownloadError: `cannot {what}: {message}`. */
export function fsFailure(err: NodeJS.ErrnoException, what: string): DownloadError {
  return new DownloadError('ERR_DOWNLOAD_FAILED', `cannot ${what}: ${err.message}`, { cause: err });
}
