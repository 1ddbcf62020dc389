/**
 * API keys: `Authorization: Bearer KEY` or `x-api-key: KEY`, compared in constant time (both sides
 * hashed to equal-length digests first, every configured key compared, so neither the length nor
 * the position of a match shows in the timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { readFile } from 'node:fs/promises';
import { invalid } from '../errors.js';
import { HttpError } from './errors.js';

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Checks request headers against a set of keys. */
export class ApiKeys {
  readonly #digests: Buffer[];

  /** @throws InvalidArgumentError for an empty key */
  constructor(keys: readonly string[]) {
    if (keys.some((k) => typeof k !== 'string' || k.length === 0)) throw invalid('API keys must be non-empty strings');
    this.#digests = keys.map(digest);
  }

  get size(): number {
    return this.#digests.length;
  }

  /** The key a request presents (Bearer token or x-api-key), or undefined. */
  static presented(headers: IncomingHttpHeaders): string | undefined {
    const auth = headers.authorization;
    if (typeof auth === 'string') {
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (m) return m[1].trim();
    }
    const x = headers['x-api-key'];
    if (typeof x === 'string' && x.length > 0) return x.trim();
    return undefined;
  }

  /** True when `key` is one of the keys; constant time in the key and the set. */
  matches(key: string | undefined): boolean {
    const d = digest(key ?? '');
    let ok = false;
    for (const k of this.#digests) ok = timingSafeEqual(d, k) || ok;
    return ok && key !== undefined;
  }

  /** @throws HttpError 401 unless the headers carry a valid key */
  check(headers: IncomingHttpHeaders): void {
    const key = ApiKeys.presented(headers);
    if (key === undefined) {
      throw new HttpError(401, 'missing API key: send Authorization: Bearer <key> or x-api-key', { code: 'missing_api_key' });
    }
    if (!this.matches(key)) throw new HttpError(401, 'incorrect API key provided', { code: 'invalid_api_key' });
  }
}

/** Keys from a file: one per line, blank lines and `#` comments skipped. */
export async function readApiKeyFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalid(`cannot read the API key file ${path}: ${(err as Error).message}`);
  }
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (keys.length === 0) throw invalid(`the API key file ${path} holds no key`);
  return keys;
}
