/**
 * Image inputs -> sRGB RGB8 pixels + content hash, decoded by sharp on libuv's pool (never on
 * the JS thread). Native code receives pixels only.
 */
import { webcrypto } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sharp } from 'sharp';
import sharp from 'sharp';
import type { NativeImage } from './binding.js';
import { AbortError, ImageError, SmolVLMError } from './errors.js';

/** Raw pixels: `data.length` must be `width * height * channels`. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 2 | 3 | 4;
}

/**
 * Anything that can be an image part: a file path, a `data:` or `http(s):` URL (string or URL),
 * an encoded file's bytes, raw pixels, or a sharp instance.
 */
export type ImageInput = string | URL | Buffer | Uint8Array | RawImage | Sharp;

/**
 * How an image is cut into projector tiles: fewer pixels, fewer tokens. SmolVLM scales an image's
 * longest side to `info.vision.longestEdge` (2048 for 256M/500M), cuts it into tiles of
 * `info.vision.imageSize` (512) and adds a downscaled overview: a 1024x768 photo becomes 4x3
 * tiles + 1 = 832 tokens on the 256M model.
 */
export interface ImageResolution {
  /**
   * Scale the longest side to this many pixels before tiling, from one tile
   * (`info.vision.imageSize`) up to the model's default (`info.vision.longestEdge`). With 1024,
   * that photo takes 2x2 tiles + 1 = 320 tokens.
   */
  longestEdge?: number;
  /**
   * `false`: the overview only, the whole image as one tile (64 tokens on the 256M model), as
   * SmolVLM encodes images with splitting off and video frames. Default true.
   */
  tiling?: boolean;
}

export interface ImageOptions extends ImageResolution {
  /** Background for transparent images. Default white. */
  background?: string | { r: number; g: number; b: number };
  /** Largest accepted image in pixels (decompression-bomb guard), checked before decoding. Default 0x3FFF² (sharp's). */
  maxPixels?: number;
  /** Fetch `http(s)` URLs. Turn off in servers that take URLs from users. Default true. */
  allowRemote?: boolean;
  /** Largest download in bytes. Default 50 MB. */
  maxDownloadBytes?: number;
  /** Download timeout in ms. Default 30000. */
  timeoutMs?: number;
  /** Decode SVG (it can reference external resources). Default false. */
  allowSvg?: boolean;
  /** Aborts a download. */
  signal?: AbortSignal;
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
  if (options.allowRemote === false) throw imageError(`remote images are disabled (allowRemote: false): ${url.href}`);
  const maxBytes = options.maxDownloadBytes ?? 50_000_000;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow', headers: { accept: 'image/*' } });
  } catch (err) {
    if (options.signal?.aborted) throw new AbortError('ERR_ABORTED', `download aborted: ${url.href}`);
    const why = timeout.aborted ? `timed out after ${options.timeoutMs ?? 30_000} ms` : (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
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
export async function decodeImage(input: ImageInput, options: ImageOptions = {}): Promise<Omit<NativeImage, 'longestEdge' | 'tiling'>> {
  const background = options.background ?? '#ffffff';
  const limitInputPixels = options.maxPixels ?? 0x3fff * 0x3fff;
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
    if (meta.format === 'svg' && !options.allowSvg) throw imageError('SVG images are disabled (allowSvg: true enables them)');
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
