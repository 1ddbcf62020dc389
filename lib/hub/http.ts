/**
 * Requests to the hub and its CDN (and to the hosts of VLMEvalKit's datasets, without the token):
 * the headers every request carries, an inactivity watchdog, and
 * what a failed request or an error status turns into (typed, naming the URL, transient or not).
 */
import { DownloadError, SmolVLMError } from '../errors.js';
import type { Ctx } from './context.js';
import { aborted, fsFailure, isFsError, retryable, shown } from './failures.js';

const USER_AGENT = 'smolvlm-node';

/** Aborts a request when nothing arrived for `ms`; kick() on each chunk. */
export class Watchdog {
  readonly controller = new AbortController();
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, ms);
  }
  kick(): void {
    this.timer.refresh();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

/** GET `url` (redirects followed) with the token, under the call's signal and the watchdog. */
export async function httpGet(ctx: Ctx, url: string, wd: Watchdog, headers: Record<string, string>): Promise<Response> {
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, wd.controller.signal]) : wd.controller.signal;
  const all: Record<string, string> = { 'user-agent': USER_AGENT, ...headers };
  if (ctx.token) all.authorization = `Bearer ${ctx.token}`;
  const res = await fetch(url, { headers: all, signal, redirect: 'follow' });
  wd.kick();
  return res;
}

/** Drops a response's body unread. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

/** Turns whatever a request threw into a typed error naming the URL. */
export function failure(ctx: Ctx, err: unknown, url: string, wd: Watchdog): Error {
  if (err instanceof SmolVLMError) return err;
  if (ctx.signal?.aborted) return aborted(shown(url));
  if (isFsError(err)) return fsFailure(err, `write ${err.path}`);
  if (wd.timedOut) {
    return retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: nothing received for ${ctx.timeoutMs} ms (timeoutMs)`, { cause: err }));
  }
  const e = err as Error & { cause?: unknown };
  const why = e?.cause instanceof Error ? `${e.message} (${e.cause.message})` : e instanceof Error ? e.message : String(err);
  return retryable(new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${shown(url)}: ${why}`, { cause: err }));
}

/** The typed error for an HTTP error status; worded for the hub when `repo` is given. */
export function statusError(ctx: Ctx, res: Response, url: string, repo: string | undefined): DownloadError {
  const hubCode = res.headers.get('x-error-code') ?? '';
  const hubMessage = res.headers.get('x-error-message');
  const detail = `HTTP ${res.status}${hubMessage ? ` (${hubMessage})` : ''} from ${shown(url)}`;
  if (repo === undefined) {
    const err = new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${detail}`);
    return res.status === 408 || res.status === 429 || res.status >= 500 ? retryable(err) : err;
  }
  if (res.status === 401 || res.status === 403) {
    const hint = hubCode === 'GatedRepo'
      ? `${repo} is gated: accept its conditions at ${ctx.endpoint}/${repo} and set HF_TOKEN (or the token option) to an access token of that account`
      : ctx.token
        ? `the token given (HF_TOKEN or the token option) has no access to ${repo}`
        : `${repo} is private, gated or does not exist: set HF_TOKEN (or the token option) to an access token`;
    return new DownloadError('ERR_HUB_UNAUTHORIZED', `not authorized: ${detail}: ${hint}`);
  }
  if (res.status === 404) {
    const what = hubCode === 'EntryNotFound' ? 'file' : hubCode === 'RevisionNotFound' ? 'revision' : 'repository or file';
    return new DownloadError('ERR_MODEL_NOT_FOUND', `${what} not found: ${repo}: ${detail}`);
  }
  const err = new DownloadError('ERR_DOWNLOAD_FAILED', `download failed: ${detail}`);
  return res.status === 408 || res.status === 429 || res.status >= 500 ? retryable(err) : err;
}
