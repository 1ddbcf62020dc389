// The benchmark picture: a 1024x768 PNG (13 tiles on SmolVLM 256M/500M), written once per run;
// benchPhotos(n): n different pictures of that size, for benches that must not hit a cache.
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../test/helpers.mjs';

/** Writes the picture to a temporary folder and returns its path. */
export async function benchPhoto(name = 'photo.png') {
  return writePhoto(join(tempDir(), name), 0);
}

/** Writes `n` different pictures (up to 65536; variant 0 is benchPhoto's) and returns their paths. */
export async function benchPhotos(n, prefix = 'photo') {
  if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError(`benchPhotos: n must be an integer from 1 to 65536, not ${n}`);
  const dir = tempDir();
  return Promise.all(Array.from({ length: n }, (_, k) => writePhoto(join(dir, `${prefix}-${k}.png`), k)));
}

async function writePhoto(path, k) {
  const w = 1024, h = 768, px = Buffer.alloc(w * h * 3);
  for (let i = 0, o = 0; i < w * h; i++, o += 3) {
    px[o] = (i % w) + 31 * k;
    px[o + 1] = i / w + 57 * k;
    px[o + 2] = ((i * 7 + 101 * k) & 0xff) ^ (k >> 8); // k >> 8: pictures 256 apart differ too
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
  return path;
}
