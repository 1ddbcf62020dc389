// Encoded images for the image class: seeded base pictures in every format sharp writes, and
// surgery on their headers (declared dimensions, bit depth, checksums) that keeps them parseable.

import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A w x h RGB picture of seeded colour blocks. */
export function basePixels(rng, width = 48, height = 40) {
  const data = Buffer.alloc(width * height * 3);
  const block = rng.pick([4, 8, 16]);
  const colours = Array.from({ length: 16 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colours[(Math.floor(x / block) * 7 + Math.floor(y / block) * 3) % 16];
      data.set(c, (y * width + x) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

/** Formats and the sharp pipeline that writes each one. */
export const FORMATS = {
  png: (s) => s.png(),
  jpeg: (s) => s.jpeg({ quality: 80 }),
  webp: (s) => s.webp(),
  gif: (s) => s.gif(),
  tiff: (s) => s.tiff(),
  avif: (s) => s.avif({ quality: 50, effort: 0 }),
  'png-16bit': (s) => s.toColourspace('rgb16').png(),
  'png-palette': (s) => s.png({ palette: true }),
  'png-grey-alpha': (s) => s.greyscale().ensureAlpha(0.5).png(),
  'jpeg-cmyk': (s) => s.toColourspace('cmyk').jpeg(),
  'webp-lossless-alpha': (s) => s.ensureAlpha(0.3).webp({ lossless: true }),
};

/** `format` bytes of a seeded picture. */
export async function encoded(rng, format, width, height) {
  const raw = basePixels(rng, width, height);
  const s = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } });
  return FORMATS[format](s).toBuffer();
}

/** A two-frame animated GIF. */
export async function animatedGif(rng) {
  const a = basePixels(rng);
  const b = basePixels(rng);
  const frames = Buffer.concat([a.data, b.data]);
  return sharp(frames, { raw: { width: a.width, height: a.height * 2, channels: 3, pageHeight: a.height } }).gif({ loop: 0 }).toBuffer();
}

// ---------------------------------------------------------------------------
// PNG: chunks (length u32 BE, type, data, crc32 of type+data)
// ---------------------------------------------------------------------------

export function pngChunks(buf) {
  const chunks = [];
  for (let at = 8; at + 12 <= buf.length;) {
    const len = buf.readUInt32BE(at);
    chunks.push({ type: buf.toString('latin1', at + 4, at + 8), data: buf.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return chunks;
}

export function pngBuild(chunks, { badCrc = false } = {}) {
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const { type, data } of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE((crc32(Buffer.concat([head.subarray(4), data])) ^ (badCrc ? 1 : 0)) >>> 0);
    parts.push(head, data, crc);
  }
  return Buffer.concat(parts);
}

/** A PNG whose IHDR declares `width` x `height` (and optionally a bit depth / colour type) over the real data. */
export function pngDeclaring(png, { width, height, depth, colourType }) {
  const chunks = pngChunks(png).map((c) => ({ ...c, data: Buffer.from(c.data) }));
  const ihdr = chunks.find((c) => c.type === 'IHDR').data;
  if (width !== undefined) ihdr.writeUInt32BE(width >>> 0, 0);
  if (height !== undefined) ihdr.writeUInt32BE(height >>> 0, 4);
  if (depth !== undefined) ihdr[8] = depth;
  if (colourType !== undefined) ihdr[9] = colourType;
  return pngBuild(chunks);
}

/** A PNG with an extra chunk before IDAT (e.g. a zTXt compression bomb). */
export function pngWithChunk(png, type, data) {
  const chunks = pngChunks(png);
  const at = chunks.findIndex((c) => c.type === 'IDAT');
  chunks.splice(at, 0, { type, data });
  return pngBuild(chunks);
}

/** A zTXt chunk holding `mb` MiB of zeros, deflated (about 1000:1). */
export function zTxtBomb(mb) {
  return Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.alloc(mb << 20), { level: 9 })]);
}

// ---------------------------------------------------------------------------
// JPEG / GIF / WebP declared dimensions
// ---------------------------------------------------------------------------

/** A JPEG whose SOFn segment declares `width` x `height`. */
export function jpegDeclaring(jpeg, width, height) {
  const out = Buffer.from(jpeg);
  for (let at = 2; at + 9 < out.length;) {
    if (out[at] !== 0xff) break;
    const marker = out[at + 1];
    const len = out.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      out.writeUInt16BE(height & 0xffff, at + 5);
      out.writeUInt16BE(width & 0xffff, at + 7);
      return out;
    }
    at += 2 + len;
  }
  return out;
}

/** A GIF whose logical screen (and first image descriptor) declare `width` x `height`. */
export function gifDeclaring(gif, width, height) {
  const out = Buffer.from(gif);
  out.writeUInt16LE(width & 0xffff, 6);
  out.writeUInt16LE(height & 0xffff, 8);
  const desc = out.indexOf(0x2c, 13);
  if (desc > 0 && desc + 9 < out.length) {
    out.writeUInt16LE(width & 0xffff, desc + 5);
    out.writeUInt16LE(height & 0xffff, desc + 7);
  }
  return out;
}

/** A WebP whose VP8 frame header (lossy) or VP8L header (lossless) declares `width` x `height`. */
export function webpDeclaring(webp, width, height) {
  const out = Buffer.from(webp);
  const vp8 = out.indexOf('VP8 ', 12, 'latin1');
  if (vp8 > 0) {
    // frame tag (3) + start code (3), then 14-bit width and height
    out.writeUInt16LE(width & 0x3fff, vp8 + 8 + 6);
    out.writeUInt16LE(height & 0x3fff, vp8 + 8 + 8);
    return out;
  }
  const vp8l = out.indexOf('VP8L', 12, 'latin1');
  if (vp8l > 0) {
    const bits = ((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14);
    const at = vp8l + 8 + 1;
    const old = out.readUInt32LE(at);
    out.writeUInt32LE(((old & ~0x0fffffff) | bits) >>> 0, at);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Generic byte mutations
// ---------------------------------------------------------------------------

export const BYTE_MUTATIONS = {
  truncate: (rng, b) => ({ bytes: b.subarray(0, rng.int(b.length)), detail: 'truncated' }),
  'bit flips': (rng, b) => {
    const out = Buffer.from(b);
    const n = rng.pick([1, 4, 32]);
    for (let i = 0; i < n; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return { bytes: out, detail: `${n} bit flips` };
  },
  'flips in the first 64 bytes': (rng, b) => {
    const out = Buffer.from(b);
    const n = rng.pick([1, 4]);
    for (let i = 0; i < n; i++) out[rng.int(Math.min(64, out.length))] ^= 1 << rng.int(8);
    return { bytes: out, detail: `${n} header bit flips` };
  },
  'random block': (rng, b) => {
    const out = Buffer.from(b);
    const at = rng.int(out.length);
    rng.bytes(Math.min(32, out.length - at)).copy(out, at);
    return { bytes: out, detail: `random bytes at ${at}` };
  },
  'duplicated slice': (rng, b) => {
    const at = rng.int(b.length);
    const len = rng.int(Math.min(256, b.length - at)) + 1;
    return { bytes: Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]), detail: `slice ${at}+${len} doubled` };
  },
  'zeroed range': (rng, b) => {
    const out = Buffer.from(b);
    const at = rng.int(out.length);
    out.fill(0, at, Math.min(out.length, at + rng.range(1, 512)));
    return { bytes: out, detail: `zeros from ${at}` };
  },
};
