// The benchmark picture: a 1024x768 PNG (13 tiles on SmolVLM 256M/500M), written once per run.
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../test/helpers.mjs';

/** Writes the picture to a temporary folder and returns its path. */
export async function benchPhoto(name = 'photo.png') {
  const image = join(tempDir(), name);
  const w = 1024, h = 768, px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set([(i % w) & 0xff, (i / w) & 0xff, (i * 7) & 0xff], i * 3);
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
  return image;
}
