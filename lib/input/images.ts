/**
 * Image inputs -> sRGB RGB8 pixels + content hash, decoded by sharp on libuv's pool (never on
 * the JS thread). Native code receives pixels only.
 */
import { webcrypto } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sharp } from 'sharp';
import sharp from 'sharp';
import { ImageError, SmolVLMError } from '../errors.js';
import { fetchImage } from '../net/fetch.js';
import { DEFAULTS } from '../options.js';
import type { ImageInput, ImageOptions, RawImage } from '../types.js';

/** An image as the projector takes it: RGB8 pixels and a content id for the encoded-image cache. */
export interface DecodedImage {
  /** width * height * 3 bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  /** SHA-256 of the pixels and the size. */
  id: string;
}


function imageError(message: string, cause?: unknown): ImageError {
  return new ImageError('ERR_IMAGE_INVALID', message, { cause });
}

function isRaw(x: unknown): x is RawImage {
  return typeof x === 'object' && x !== null && 'data' in x && 'width' in x && 'height' in x && 'channels' in x;
}

/**
 * Percent-decodes to bytes, as the WHATWG data: URL processor does: `%XX` is byte XX (`%89` too:
 * decodeURIComponent would refuse it as UTF-8), anything else is its UTF-8 bytes.
 */
function percentDecode(text: string): Buffer {
  const src = Buffer.from(text, 'utf8');
  if (!text.includes('%')) return src;
  const hex = (c: number | undefined): number => {
    if (c === undefined) return -1;
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    const l = c | 0x20;
    return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
  };
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const hi = src[i] === 0x25 ? hex(src[i + 1]) : -1;
    const lo = hi >= 0 ? hex(src[i + 2]) : -1;
    if (lo >= 0) {
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else out[n++] = src[i];
  }
  return out.subarray(0, n);
}

/** Decodes a `data:` URL's payload (base64, or percent-encoded bytes). */
function fromDataUrl(url: string): Buffer {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
  if (!m) throw imageError('malformed data: URL');
  const bytes = m[2] ? Buffer.from(m[3].includes('%') ? percentDecode(m[3]).toString('latin1') : m[3], 'base64') : percentDecode(m[3]);
  if (bytes.byteLength === 0) throw imageError('data: URL holds no bytes');
  return bytes;
}

/** Downloads an image through lib/net's fetcher under the `remote` policy (public hosts by default). */
async function download(url: URL, options: ImageOptions): Promise<Buffer> {
  const policy = options.remote ?? DEFAULTS.image.remote;
  if (policy === false) throw imageError(`remote images are disabled (remote: false): ${url.origin}`);
  const fetched = await fetchImage(url, {
    policy,
    maxBytes: options.maxDownloadBytes ?? DEFAULTS.image.maxDownloadBytes,
    timeoutMs: options.timeoutMs ?? DEFAULTS.image.timeoutMs,
    maxRedirects: options.fetch?.maxRedirects ?? DEFAULTS.image.maxRedirects,
    signal: options.signal,
    ...(options.fetch?.resolve ? { resolve: options.fetch.resolve } : {}),
    ...(options.fetch?.connectTo ? { connectTo: options.fetch.connectTo } : {}),
  });
  return fetched.data;
}

/** The path a `file:` URL names: local ones only (`file:///path` or `file://localhost/path`). */
function filePath(url: URL): string {
  if (url.hostname !== '' && url.hostname !== 'localhost') throw imageError(`file: URLs name a local file only, not one on host '${url.hostname}': ${url.href.slice(0, 100)}`);
  try {
    return fileURLToPath(url);
  } catch (err) {
    throw imageError(`malformed file: URL: ${url.href.slice(0, 100)} (${(err as Error).message})`, err);
  }
}

/** Images whose longest side is above this are scaled to it while decoding (JPEG and WebP shrink on load). */
export const SHRINK_EDGE = 4096;

/** The error for an image over `maxPixels` that sharp refused from its header, with its size when the header tells it. */
async function overLimit(source: string | Uint8Array | undefined, limit: number, cause: unknown): Promise<ImageError> {
  const size = await (source === undefined ? Promise.reject(new Error('no source')) : sharp(source, { limitInputPixels: false }).metadata())
    .then((m) => (m.width && m.height ? ` is ${m.width}x${m.height} = ${m.width * m.height} pixels,` : ''))
    .catch(() => '');
  return imageError(`image${size} over the limit of ${limit} pixels (image.maxPixels)`, cause);
}

/** Decodes one input to RGB8 with a SHA-256 content id. */
export async function decodeImage(input: ImageInput, options: ImageOptions = {}): Promise<DecodedImage> {
  const background = options.background ?? DEFAULTS.image.background;
  const limitInputPixels = options.maxPixels ?? DEFAULTS.image.maxPixels;
  const allowFiles = options.allowFiles ?? DEFAULTS.image.allowFiles;
  if (input instanceof URL || (typeof input === 'string' && /^(https?|data|file):/i.test(input))) {
    let url: URL;
    try {
      url = input instanceof URL ? input : new URL(input);
    } catch (err) {
      throw imageError(`malformed image URL: ${String(input).slice(0, 100)}`, err);
    }
    if (url.protocol === 'data:') input = fromDataUrl(url.href);
    else if (url.protocol === 'http:' || url.protocol === 'https:') input = await download(url, options);
    else if (url.protocol === 'file:') {
      if (!allowFiles) throw imageError('file: URLs are disabled (allowFiles: false)');
      input = filePath(url);
    } else throw imageError(`unsupported URL scheme: ${url.protocol}`);
  } else if (typeof input === 'string' && !allowFiles) {
    throw imageError('image file paths are disabled (allowFiles: false): send bytes or a data: URL');
  }
  if (input instanceof DataView) input = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  let pipeline: Sharp;
  if (typeof input === 'string') {
    const st = await stat(input).catch((err: NodeJS.ErrnoException) => {
      throw imageError(err.code === 'ENOENT' ? `image not found: ${input}` : `image cannot be read: ${input} (${err.message})`, err);
    });
    if (!st.isFile()) throw imageError(`image is not a file: ${input}`);
    if (st.size === 0) throw imageError(`image file is empty: ${input}`);
    pipeline = sharp(input, { limitInputPixels, failOn: 'error' });
  } else if (input instanceof Uint8Array) {
    if (input.byteLength === 0) throw imageError('image buffer is empty');
    pipeline = sharp(input, { limitInputPixels, failOn: 'error' });
  } else if (isRaw(input)) {
    const { data, width, height, channels } = input;
    if (!(data instanceof Uint8Array)) throw imageError(`raw image data must be a Uint8Array or Buffer, not ${data === null ? 'null' : typeof data}`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || ![1, 2, 3, 4].includes(channels)) {
      throw imageError(`raw image has invalid dimensions ${width}x${height}x${channels}`);
    }
    if (data.byteLength !== width * height * channels) {
      throw imageError(`raw image buffer is ${data.byteLength} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
    }
    pipeline = sharp(data, { raw: { width, height, channels }, limitInputPixels });
  } else if (input && typeof (input as Sharp).toBuffer === 'function') {
    pipeline = (input as Sharp).clone();
  } else {
    throw imageError('unsupported image input: expected a path, a URL, a Buffer/Uint8Array/DataView, raw pixels or a sharp instance');
  }
  try {
    const meta = await pipeline.metadata();
    if (meta.format === 'svg' && !(options.allowSvg ?? DEFAULTS.image.allowSvg)) throw imageError('SVG images are disabled (allowSvg: true enables them)');
    if (!meta.width || !meta.height) throw imageError('image has no dimensions');
    if (meta.width * meta.height > limitInputPixels) {
      throw imageError(`image is ${meta.width}x${meta.height} = ${meta.width * meta.height} pixels, over the limit of ${limitInputPixels} (image.maxPixels)`);
    }
    if (Math.max(meta.width, meta.height) > SHRINK_EDGE) {
      pipeline = pipeline.resize({ width: SHRINK_EDGE, height: SHRINK_EDGE, fit: 'inside', withoutEnlargement: true });
    }
    const { data, info } = await pipeline
      .rotate() // EXIF orientation
      .flatten({ background })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw imageError(`decoded image has ${info.channels} channels, expected 3`);
    const digest = await webcrypto.subtle.digest('SHA-256', data);
    const id = `${Buffer.from(digest).toString('hex')}:${info.width}x${info.height}`;
    return { data, width: info.width, height: info.height, id };
  } catch (err) {
    if (err instanceof SmolVLMError) throw err;
    if (/exceeds pixel limit/.test((err as Error).message)) throw await overLimit(typeof input === 'string' || input instanceof Uint8Array ? input : undefined, limitInputPixels, err);
    throw imageError(`image cannot be decoded: ${(err as Error).message}`, err);
  }
}
