/**
 * Fetching untrusted URLs (image URLs a user put in a request) without server-side request forgery.
 *
 * With policy `'public'` the host is resolved first and every address it resolves to must be
 * public (see address.ts); the connection then goes to exactly the address that was checked (the
 * socket's `lookup` is pinned to it), so a second DNS answer cannot swap it (DNS rebinding).
 * Redirects are followed by hand, each hop checked the same way, at most `maxRedirects` of them.
 * Only http and https; a size cap, an overall timeout, and the body must be an image (by its
 * content type, or by its first bytes when the type says nothing).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { AbortError, ImageError } from '../errors.js';
import type { ConnectTo, ResolvedAddress, Resolver } from '../types.js';
import { classifyAddress, type AddressClass } from './address.js';

/**
 * Which hosts may be fetched: `'public'` only publicly routable addresses (no loopback, private,
 * link-local, CGNAT, multicast, unspecified, unique-local or metadata addresses), `'any'` every
 * host (trusted input only), `false` none.
 */
export type RemotePolicy = 'public' | 'any' | false;

export type { ConnectTo, ResolvedAddress, Resolver };

export interface SafeFetchOptions {
  /** Default `'public'`. */
  policy?: RemotePolicy;
  /** Largest body in bytes. Default 20 MB. */
  maxBytes?: number;
  /** Time for the whole fetch, redirects included, in ms. Default 10000. */
  timeoutMs?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /** Aborts the fetch (rejects with an AbortError). */
  signal?: AbortSignal;
  /** Host name resolution. Default `dns.lookup` with all addresses. */
  resolve?: Resolver;
  /**
   * Where to connect for an address that passed the check, like curl's `--connect-to` (tests
   * point a public test address at a local server with it). Default: the checked address itself.
   */
  connectTo?: ConnectTo;
}

export interface FetchedImage {
  data: Buffer;
  /** The response's content type (may be empty when the bytes were sniffed). */
  contentType: string;
  /** The URL the bytes came from, after redirects. */
  url: string;
}

/** A URL refused by the policy; `reason` names the address class (or `'scheme'`, `'disabled'`). */
export class UrlRefusedError extends ImageError {
  readonly reason: AddressClass | 'scheme' | 'disabled' | 'redirects';
  constructor(message: string, reason: UrlRefusedError['reason']) {
    super('ERR_IMAGE_INVALID', message);
    this.reason = reason;
  }
}

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The address to connect to for `url` under `policy`, or a refusal. */
async function checkedAddress(url: URL, policy: 'public' | 'any', resolve: Resolver): Promise<ResolvedAddress | undefined> {
  const host = url.hostname;
  const literal = classifyAddress(host);
  if (literal) {
    if (policy === 'public' && literal.kind !== 'public') {
      throw new UrlRefusedError(`refused: ${url.origin} is a ${literal.kind} address (only public hosts may be fetched)`, literal.kind);
    }
    return undefined; // an IP literal: the socket connects to it without a lookup
  }
  if (policy === 'any') return undefined;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    throw new ImageError('ERR_IMAGE_INVALID', `image download failed: ${url.origin}: cannot resolve ${host} (${(err as Error).message})`, { cause: err });
  }
  if (addresses.length === 0) throw new ImageError('ERR_IMAGE_INVALID', `image download failed: ${host} has no address`);
  for (const a of addresses) {
    const c = classifyAddress(a.address);
    if (!c || c.kind !== 'public') {
      const kind = c?.kind ?? 'reserved';
      throw new UrlRefusedError(`refused: ${host} resolves to ${a.address}, a ${kind} address (only public hosts may be fetched)`, kind);
    }
  }
  return addresses[0];
}

/** A socket `lookup` that answers with the checked address only. */
function pinned(address: ResolvedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: address.address, family: address.family }]);
    else callback(null, address.address, address.family);
  }) as unknown as LookupFunction;
}

const IMAGE_MAGIC: [number, number[]][] = [
  [0, [0x89, 0x50, 0x4e, 0x47]], // PNG
  [0, [0xff, 0xd8, 0xff]], // JPEG
  [0, [0x47, 0x49, 0x46, 0x38]], // GIF
  [0, [0x42, 0x4d]], // BMP
  [0, [0x49, 0x49, 0x2a, 0x00]], // TIFF little-endian
  [0, [0x4d, 0x4d, 0x00, 0x2a]], // TIFF big-endian
  [4, [0x66, 0x74, 0x79, 0x70]], // ISO-BMFF "ftyp": AVIF, HEIF
];

/** Whether the first bytes look like an image format sharp decodes (WebP: RIFF....WEBP). */
export function looksLikeImage(head: Uint8Array): boolean {
  if (head.length >= 12 && String.fromCharCode(...head.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...head.subarray(8, 12)) === 'WEBP') return true;
  return IMAGE_MAGIC.some(([at, sig]) => head.length >= at + sig.length && sig.every((b, i) => head[at + i] === b));
}

function imageError(message: string, cause?: unknown): ImageError {
  return new ImageError('ERR_IMAGE_INVALID', message, { cause });
}

interface Hop {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function request(url: URL, checked: ResolvedAddress | undefined, signal: AbortSignal, connectTo?: ConnectTo): Promise<Hop> {
  const mod = url.protocol === 'https:' ? https : http;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  let port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let address = checked;
  if (connectTo) {
    const literal = classifyAddress(hostname);
    const target = connectTo({ ...(address ?? { address: literal?.address ?? hostname, family: literal?.family ?? 4 }), port });
    address = { address: target.address, family: target.family };
    port = target.port;
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        protocol: url.protocol,
        // a name connects through the pinned lookup (the name stays for SNI and the certificate);
        // a literal connects to itself, or to where connectTo sent it
        host: address && classifyAddress(hostname) ? address.address : hostname,
        port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: 'image/*', 'user-agent': 'smolvlm-node', host: url.host },
        agent: false, // a fresh connection per hop: no pooled socket to another address
        signal,
        ...(address ? { lookup: pinned(address), ...(classifyAddress(hostname) ? {} : { servername: hostname }) } : {}),
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Fetches an image from an untrusted URL under `options.policy` (default `'public'`).
 * @throws UrlRefusedError (ERR_IMAGE_INVALID) when the policy refuses a hop, ImageError when the
 * fetch fails, is too large, times out or is not an image, AbortError when `signal` aborts.
 */
export async function fetchImage(input: string | URL, options: SafeFetchOptions = {}): Promise<FetchedImage> {
  const policy = options.policy ?? 'public';
  const maxBytes = options.maxBytes ?? 20_000_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const resolve = options.resolve ?? defaultResolver;
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(input);
  } catch (err) {
    throw imageError(`malformed image URL: ${String(input).slice(0, 100)}`, err);
  }
  if (policy === false) throw new UrlRefusedError(`remote images are disabled: ${url.origin}`, 'disabled');
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const fail = (err: unknown, what: string): never => {
    if (options.signal?.aborted) throw new AbortError('ERR_ABORTED', `image download aborted: ${url.origin}`);
    if (timeout.aborted) throw imageError(`image download timed out after ${timeoutMs} ms: ${url.origin}`, err);
    if (err instanceof ImageError) throw err;
    throw imageError(`image download failed: ${url.origin}: ${what}${err instanceof Error ? ` (${err.message})` : ''}`, err);
  };
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlRefusedError(`refused: only http and https URLs may be fetched, not ${url.protocol}`, 'scheme');
    let res: Hop;
    try {
      if (signal.aborted) throw signal.reason;
      const address = await checkedAddress(url, policy, resolve);
      res = await request(url, address, signal, options.connectTo);
    } catch (err) {
      return fail(err, 'request failed');
    }
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      res.body.destroy();
      if (hop >= maxRedirects) throw new UrlRefusedError(`refused: more than ${maxRedirects} redirects from ${String(input).slice(0, 100)}`, 'redirects');
      try {
        url = new URL(res.headers.location, url);
      } catch (err) {
        throw imageError(`image download failed: bad redirect location from ${url.origin}`, err);
      }
      continue;
    }
    if (res.status < 200 || res.status > 299) {
      res.body.destroy();
      throw imageError(`image download failed: ${url.origin}${url.pathname}: HTTP ${res.status}`);
    }
    const contentType = String(res.headers['content-type'] ?? '').toLowerCase();
    const mime = contentType.split(';')[0].trim();
    const sniff = mime === '' || mime === 'application/octet-stream' || mime === 'binary/octet-stream';
    if (!sniff && (!mime.startsWith('image/') || mime.includes('svg'))) {
      res.body.destroy();
      throw imageError(`not an image: ${url.origin}${url.pathname} is ${mime}`);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      res.body.destroy();
      throw imageError(`image too large: ${url.origin}${url.pathname} is ${declared} bytes, limit ${maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.byteLength;
        if (size > maxBytes) throw imageError(`image too large: ${url.origin}${url.pathname} exceeds ${maxBytes} bytes`);
        chunks.push(chunk);
      }
    } catch (err) {
      res.body.destroy();
      return fail(err, 'reading the body failed');
    }
    if (size === 0) throw imageError(`image download is empty: ${url.origin}${url.pathname}`);
    const data = Buffer.concat(chunks, size);
    if (sniff && !looksLikeImage(data.subarray(0, 16))) throw imageError(`not an image: ${url.origin}${url.pathname} (${mime || 'no content type'}, unknown format)`);
    return { data, contentType: mime, url: url.href };
  }
}
