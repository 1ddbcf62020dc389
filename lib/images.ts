/**
 * Image inputs -> sRGB RGB8 pixels + content hash, decoded by sharp on libuv's pool (never on
 * the JS thread). Native code receives pixels only.
 */
import { webcrypto } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Sharp } from 'sharp';
import sharp from 'sharp';
import type { NativeImage } from './binding.js';
import { ImageError, SmolVLMError } from './errors.js';

/** Raw pixels: `data.length` must be `width * height * channels`. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 2 | 3 | 4;
}

/** Anything that can be an image part: a file path, an encoded file's bytes, raw pixels, or a sharp instance. */
export type ImageInput = string | Buffer | Uint8Array | RawImage | Sharp;

export interface ImageOptions {
  /** Background for transparent images. Default white. */
  background?: string | { r: number; g: number; b: number };
  /** Largest accepted image in pixels (decompression-bomb guard), checked before decoding. Default 268M (sharp's). */
  maxPixels?: number;
}

function imageError(message: string, cause?: unknown): ImageError {
  return new ImageError('ERR_IMAGE_INVALID', message, { cause });
}

function isRaw(x: unknown): x is RawImage {
  return typeof x === 'object' && x !== null && 'data' in x && 'width' in x && 'height' in x && 'channels' in x;
}

/** Decodes one input to RGB8 with a SHA-256 content id. */
export async function decodeImage(input: ImageInput, options: ImageOptions = {}): Promise<NativeImage> {
  const background = options.background ?? '#ffffff';
  const limitInputPixels = options.maxPixels ?? 0x3fff * 0x3fff;
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
