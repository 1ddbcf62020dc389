/**
 * Image inputs -> sRGB RGB8 pixels + content hash, decoded by sharp on libuv's pool (never on
 * the JS thread). Native code receives pixels only.
 */
import { webcrypto } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sharp } from 'sharp';
import sharp from 'sharp';
import { AbortError, ImageError, SmolVLMError } from '../errors.js';
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

/** Decodes a `data:` URL's payload. */
function fromDataUrl(url: string): Buffer {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
  if (!m) throw imageError('malformed data: URL');
  let bytes: Buffer;
  try {
    bytes = m[2] ? Buffer.from(m[3], 'base64') : Buffer.from(decodeURIComponent(m[3]), 'latin1');
  } catch (err) {
    throw imageError('malformed data: URL', err);
  }
  if (bytes.byteLength === 0) throw imageError('data: URL holds no bytes');
  return bytes;
}

/** Downloads an image with a size cap, a timeout, the caller's signal, and a content-type check. */
async function download(url: URL, options: ImageOptions): Promise<Buffer> {
  if (!(options.allowRemote ?? DEFAULTS.image.allowRemote)) throw imageError(`remote images are disabled (allowRemote: false): ${url.href}`);
  const maxBytes = options.maxDownloadBytes ?? DEFAULTS.image.maxDownloadBytes;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.image.timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow', headers: { accept: 'image/*' } });
  } catch (err) {
    if (options.signal?.aborted) throw new AbortError('ERR_ABORTED', `download aborted: ${url.href}`);
    const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw imageError(`image download failed: ${url.href}: ${why}`, err);
  }
  if (!res.ok) throw imageError(`image download failed: ${url.href}: HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (/^text\/|html|json/i.test(type)) throw imageError(`not an image: ${url.href} is ${type}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw imageError(`image too large: ${url.href} is ${declared} bytes, limit ${maxBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw imageError(`image too large: ${url.href} exceeds ${maxBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof SmolVLMError) throw err;
    if (options.signal?.aborted) throw new AbortError('ERR_ABORTED', `download aborted: ${url.href}`);
    throw imageError(`image download failed: ${url.href}: ${timeout.aborted ? 'timed out' : (err as Error).message}`, err);
  }
  if (size === 0) throw imageError(`image download is empty: ${url.href}`);
  return Buffer.concat(chunks);
}

/** Decodes one input to RGB8 with a SHA-256 content id. */
export async function decodeImage(input: ImageInput, options: ImageOptions = {}): Promise<DecodedImage> {
  const background = options.background ?? DEFAULTS.image.background;
  const limitInputPixels = options.maxPixels ?? DEFAULTS.image.maxPixels;
  if (input instanceof URL || (typeof input === 'string' && /^(https?|data|file):/i.test(input))) {
    let url: URL;
    try {
      url = input instanceof URL ? input : new URL(input);
    } catch (err) {
      throw imageError(`malformed image URL: ${String(input).slice(0, 100)}`, err);
    }
    if (url.protocol === 'data:') input = fromDataUrl(url.href);
    else if (url.protocol === 'http:' || url.protocol === 'https:') input = await download(url, options);
    else if (url.protocol === 'file:') input = fileURLToPath(url);
    else throw imageError(`unsupported URL scheme: ${url.protocol}`);
  }
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
    throw imageError('unsupported image input: expected a path, Buffer/Uint8Array, raw pixels or a sharp instance');
  }
  try {
    const meta = await pipeline.metadata();
    if (meta.format === 'svg' && !(options.allowSvg ?? DEFAULTS.image.allowSvg)) throw imageError('SVG images are disabled (allowSvg: true enables them)');
    if (!meta.width || !meta.height) throw imageError('image has no dimensions');
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
    throw imageError(`image cannot be decoded: ${(err as Error).message}`, err);
  }
}
