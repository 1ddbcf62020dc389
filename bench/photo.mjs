// The benchmark picture: a 1024x768 PNG (13 tiles on SmolVLM 256M/500M), written once per run;
// benchPhotos(n): n different pictures of that size, for benches that must not hit a cache.
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../test/helpers.mjs';

/** Writes the picture to a temporary folder and returns its path. */
export async function benchPhoto(name = 'photo.png') {
  return writePhoto(join(tempDir(), name), 0);
}

/** Writes `n` pictures that differ in every pixel (variant 0 is benchPhoto's) and returns their paths. */
export async function benchPhotos(n, prefix = 'photo') {
  const dir = tempDir();
  return Promise.all(Array.from({ length: n }, (_, k) => writePhoto(join(dir, `${prefix}-${k}.png`), k)));
}

async function writePhoto(path, k) {
  const w = 1024, h = 768, px = Buffer.alloc(w * h * 3);
  for (let i = 0, o = 0; i < w * h; i++, o += 3) {
    px[o] = (i % w) + 31 * k;
    px[o + 1] = i / w + 57 * k;
    px[o + 2] = i * 7 + 101 * k;
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
  return path;
}
