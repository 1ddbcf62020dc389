// image: hostile image inputs through generate(): clean and corrupted PNG/JPEG/WebP/GIF/TIFF/AVIF
// in every wrapper the API takes (Buffer, Uint8Array, path, data: and file: URLs, sharp), declared
// dimensions far from the data (16000x16000, 0x0), a real 16000x16000 PNG (its cost is reported),
// raw pixel objects with wrong sizes / NaN / negative dims / odd channel counts, typed arrays and
// DataViews, special files, SVG, and bad image options.
//
// The first INPUTS.length indexes of a seed visit the list once; later ones apply a random byte
// mutation to a random format. A caller's mistake must be refused with ERR_IMAGE_INVALID or
// ERR_INVALID_ARGUMENT; any other code (or an untyped error) is a finding.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { cacheDir, ensureFile } from '../../fixtures/synth.mjs';
import { CALLER_CODES } from '../kit.mjs';
import { listSlot } from '../prng.mjs';
import {
  BYTE_MUTATIONS, FORMATS, animatedGif, basePixels, encoded, gifDeclaring, jpegDeclaring, pngBuild, pngChunks, pngDeclaring, pngWithChunk,
  webpDeclaring, zTxtBomb,
} from './image-bytes.mjs';

const R = 'reject';
const A = 'any';
const OK = 'resolve';

const png = (rng) => encoded(rng, 'png');
const file = (k, name, bytes) => {
  const p = k.path(name);
  writeFileSync(p, bytes);
  return p;
};
const raw = (over) => ({ data: new Uint8Array(48 * 40 * 3), width: 48, height: 40, channels: 3, ...over });

/** The 16000x16000 PNG of issue 14 (one grey field, ~750 KB), generated once into the fixture cache. */
async function hugePng() {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  return ensureFile(join(dir, 'fuzz-grey-16000x16000.png'), (tmp) =>
    sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#808080' } }).png({ compressionLevel: 9 }).toFile(tmp));
}

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="40"><rect width="48" height="40" fill="#3a6"/></svg>';
const LAUGHS = `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) =>
  `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]>` +
  '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="40"><text y="20">&j;</text></svg>';

/**
 * [name, expect, build({rng, k}) => { image, request?, part? }, { timeoutMs }?]: `build` runs in
 * the case (its cost is the case's), `part` adds fields to the image part of the message.
 */
export const INPUTS = [
  // --- clean inputs: every format and wrapper must work ---
  ...Object.keys(FORMATS).map((f) => [`clean ${f} (Buffer)`, OK, async ({ rng }) => ({ image: await encoded(rng, f) })]),
  ['clean animated GIF', OK, async ({ rng }) => ({ image: await animatedGif(rng) })],
  ['clean PNG as a Uint8Array view at an offset', OK, async ({ rng }) => {
    const b = await png(rng);
    const big = new Uint8Array(b.length + 16);
    big.set(b, 7);
    return { image: big.subarray(7, 7 + b.length) };
  }],
  ['clean PNG as a path', OK, async ({ rng, k }) => ({ image: file(k, 'a.png', await png(rng)) })],
  ['clean PNG as a file: URL string', OK, async ({ rng, k }) => ({ image: pathToFileURL(file(k, 'a.png', await png(rng))).href })],
  ['clean PNG as a file: URL object', OK, async ({ rng, k }) => ({ image: pathToFileURL(file(k, 'a.png', await png(rng))) })],
  ['clean PNG as a base64 data: URL', OK, async ({ rng }) => ({ image: `data:image/png;base64,${(await png(rng)).toString('base64')}` })],
  ['clean PNG as a percent-encoded data: URL', OK, async ({ rng }) => ({ image: `data:image/png,${[...(await png(rng))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}` })],
  ['clean PNG as a sharp instance', OK, async ({ rng }) => ({ image: sharp(await png(rng)) })],
  ['raw RGB', OK, async ({ rng }) => ({ image: basePixels(rng) })],
  ['raw grey (1 channel)', OK, async () => ({ image: raw({ data: new Uint8Array(48 * 40), channels: 1 }) })],
  ['raw grey+alpha (2 channels)', OK, async () => ({ image: raw({ data: new Uint8Array(48 * 40 * 2), channels: 2 }) })],
  ['raw RGBA', OK, async () => ({ image: raw({ data: new Uint8Array(48 * 40 * 4), channels: 4 }) })],
  ['raw 1x1', A, async () => ({ image: raw({ data: new Uint8Array(3), width: 1, height: 1 }) })],
  ['raw Buffer data', OK, async () => ({ image: raw({ data: Buffer.alloc(48 * 40 * 3, 99) }) })],
  // --- not an image at all ---
  ['empty Buffer', R, async () => ({ image: Buffer.alloc(0) })],
  ['1-byte Buffer', R, async () => ({ image: Buffer.from([0x89]) })],
  ['random bytes', R, async ({ rng }) => ({ image: rng.bytes(1024) })],
  ['text', R, async () => ({ image: Buffer.from('hello, this is not an image') })],
  ['HTML', R, async () => ({ image: Buffer.from('<!doctype html><html><body>hi</body></html>') })],
  ['PDF header', R, async () => ({ image: Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n') })],
  ['ZIP header', R, async () => ({ image: Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1') })],
  // --- wrong JS types ---
  ['ArrayBuffer', R, async ({ rng }) => ({ image: new Uint8Array(await png(rng)).buffer })],
  ['DataView', OK, async ({ rng }) => { // a documented input (ImageInput): a DataView over an encoded file
    const b = await png(rng);
    return { image: new DataView(b.buffer, b.byteOffset, b.byteLength) };
  }],
  ['Float32Array of PNG bytes', R, async ({ rng }) => ({ image: Float32Array.from(await png(rng)) })],
  ['plain array of byte values', R, async ({ rng }) => ({ image: [...(await png(rng))] })],
  ['number', R, async () => ({ image: 42 })],
  ['null', R, async () => ({ image: null })],
  ['empty object', R, async () => ({ image: {} })],
  ['boolean', R, async () => ({ image: true })],
  ['function', R, async () => ({ image: () => 0 })],
  ['a Promise of a Buffer', R, async ({ rng }) => ({ image: Promise.resolve(await png(rng)) })],
  ['a Blob', R, async ({ rng }) => ({ image: new Blob([await png(rng)]) })],
  // --- paths and special files ---
  ['empty string', R, async () => ({ image: '' })],
  ['missing path', R, async () => ({ image: 'no/such/file.png' })],
  ['/ (a directory)', R, async () => ({ image: '/' })],
  ['/dev/null', R, async () => ({ image: '/dev/null' })],
  ['/dev/zero', R, async () => ({ image: '/dev/zero' })],
  ['/dev/urandom', R, async () => ({ image: '/dev/urandom' })],
  ['/proc/self/environ (size 0, not empty)', R, async () => ({ image: '/proc/self/environ' })],
  ['/etc/passwd', R, async () => ({ image: '/etc/passwd' })],
  ['a FIFO', R, async ({ k }) => {
    const p = k.path('fifo.png');
    execFileSync('mkfifo', [p]);
    return { image: p };
  }],
  ['a path with a NUL byte', R, async () => ({ image: 'a\0b.png' })],
  ['a 10000-character path', R, async () => ({ image: `/${'x'.repeat(10_000)}.png` })],
  ['malformed data: URL (no comma)', R, async () => ({ image: 'data:image/png;base64' })],
  ['empty data: URL', R, async () => ({ image: 'data:,' })],
  ['data: URL of invalid base64', R, async () => ({ image: 'data:image/png;base64,!!!!' })],
  ['data: URL of bad percent-encoding', R, async () => ({ image: 'data:image/png,%E0%A4%A' })],
  ['http:// without a host', R, async () => ({ image: 'http://' })],
  ['ftp: URL', R, async () => ({ image: 'ftp://example.invalid/a.png' })],
  ['javascript: URL', R, async () => ({ image: 'javascript:alert(1)' })],
  ['URL object with an unsupported scheme', R, async () => ({ image: new URL('gopher://example.invalid/a.png') })],
  // --- raw pixel objects ---
  ['raw data one byte short', R, async () => ({ image: raw({ data: new Uint8Array(48 * 40 * 3 - 1) }) })],
  ['raw data one byte long', R, async () => ({ image: raw({ data: new Uint8Array(48 * 40 * 3 + 1) }) })],
  ...[NaN, -1, 0, 1.5, Infinity, '48', 2 ** 31, -(2 ** 31)].map((w) => [`raw width ${typeof w === 'string' ? `'${w}'` : w}`, R, async () => ({ image: raw({ width: w }) })]),
  ...[NaN, -40, 0, null].map((h) => [`raw height ${h}`, R, async () => ({ image: raw({ height: h }) })]),
  ...[0, 5, 2.5, '3', undefined, -3].map((c) => [`raw channels ${typeof c === 'string' ? `'${c}'` : c}`, R, async () => ({ image: raw({ channels: c }) })]),
  ['raw data null', R, async () => ({ image: raw({ data: null }) })],
  ['raw data a DataView', R, async () => ({ image: raw({ data: new DataView(new ArrayBuffer(48 * 40 * 3)) }) })],
  ['raw data an ArrayBuffer', A, async () => ({ image: raw({ data: new ArrayBuffer(48 * 40 * 3) }) })],
  ['raw data a Float32Array of the right byte length', R, async () => ({ image: raw({ data: new Float32Array((48 * 40 * 3) / 4) }) })],
  ['raw data a Uint16Array of the right length', R, async () => ({ image: raw({ data: new Uint16Array(48 * 40 * 3) }) })],
  ['raw data a plain array', R, async () => ({ image: raw({ data: Array(48 * 40 * 3).fill(7) }) })],
  ['raw data a string', R, async () => ({ image: raw({ data: 'x'.repeat(48 * 40 * 3) }) })],
  ['raw 65536x65536 with 12 bytes', R, async () => ({ image: raw({ width: 65536, height: 65536, data: new Uint8Array(12) }) })],
  ['raw 2^26 x 2^26 x 3 (product past 2^53)', R, async () => ({ image: raw({ width: 2 ** 26, height: 2 ** 26, data: new Uint8Array(3) }) })],
  ['raw 100000x1 (elongated)', A, async () => ({ image: raw({ width: 100_000, height: 1, channels: 1, data: new Uint8Array(100_000) }) })],
  ['raw 2x4000 (elongated)', A, async () => ({ image: raw({ width: 2, height: 4000, channels: 1, data: new Uint8Array(8000) }) })],
  ['raw 8192x8192 grey (64 MB)', A, async () => ({ image: raw({ width: 8192, height: 8192, channels: 1, data: new Uint8Array(8192 * 8192) }) })],
  // --- declared dimensions and header surgery ---
  ['PNG declaring 16000x16000 over 48x40 of data', A, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { width: 16000, height: 16000 }) })],
  ['PNG declaring 20000x20000 (over the default pixel limit)', R, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { width: 20000, height: 20000 }) })],
  ['PNG declaring 0x0', R, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { width: 0, height: 0 }) })],
  ['PNG declaring 2^31-1 x 1', R, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { width: 2 ** 31 - 1, height: 1 }) })],
  ['PNG declaring 1x100000', A, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { width: 1, height: 100_000 }) })],
  ['PNG with bit depth 3', R, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { depth: 3 }) })],
  ['PNG with colour type 7', R, async ({ rng }) => ({ image: pngDeclaring(await png(rng), { colourType: 7 }) })],
  ['PNG with a 256 MiB zTXt bomb', A, async ({ rng }) => ({ image: pngWithChunk(await png(rng), 'zTXt', zTxtBomb(256)) })],
  ['PNG with every CRC wrong', A, async ({ rng }) => ({ image: pngBuild(pngChunks(await png(rng)), { badCrc: true }) })],
  ['PNG truncated after IHDR', R, async ({ rng }) => ({ image: (await png(rng)).subarray(0, 33) })],
  ['PNG truncated in IDAT', A, async ({ rng }) => {
    const b = await png(rng);
    return { image: b.subarray(0, b.length - 20) };
  }],
  ['JPEG declaring 65535x65535', A, async ({ rng }) => ({ image: jpegDeclaring(await encoded(rng, 'jpeg'), 65535, 65535) })],
  ['JPEG declaring 0x0', R, async ({ rng }) => ({ image: jpegDeclaring(await encoded(rng, 'jpeg'), 0, 0) })],
  ['JPEG truncated to its half', A, async ({ rng }) => {
    const b = await encoded(rng, 'jpeg');
    return { image: b.subarray(0, b.length >> 1) };
  }],
  ['GIF declaring 65535x65535', A, async ({ rng }) => ({ image: gifDeclaring(await encoded(rng, 'gif'), 65535, 65535) })],
  ['GIF declaring 0x0', A, async ({ rng }) => ({ image: gifDeclaring(await encoded(rng, 'gif'), 0, 0) })],
  ['WebP declaring 16383x16383', A, async ({ rng }) => ({ image: webpDeclaring(await encoded(rng, 'webp'), 16383, 16383) })],
  ['lossless WebP declaring 16384x16384', A, async ({ rng }) => ({ image: webpDeclaring(await encoded(rng, 'webp-lossless-alpha'), 16384, 16384) })],
  // the 747 KB PNG of issue 14: accepted under today's limit; its time and memory are the finding
  ['real 16000x16000 PNG (cost)', A, async () => ({ image: await hugePng() }), { timeoutMs: 180_000 }],
  ['real 16000x16000 PNG with maxPixels 4e6', R, async () => ({ image: await hugePng(), request: { image: { maxPixels: 4e6 } } }), { timeoutMs: 180_000 }],
  // --- SVG ---
  ['SVG (disabled by default)', R, async () => ({ image: Buffer.from(SVG) })],
  ['SVG with allowSvg', OK, async () => ({ image: Buffer.from(SVG), request: { image: { allowSvg: true } } })],
  ['SVG of 100000x100000 with allowSvg', R, async () => ({ image: Buffer.from(SVG.replace('width="48" height="40"', 'width="100000" height="100000"')), request: { image: { allowSvg: true } } })],
  ['SVG billion laughs with allowSvg', A, async () => ({ image: Buffer.from(LAUGHS), request: { image: { allowSvg: true } } })],
  ['SVG referencing file:///etc/passwd with allowSvg', A, async () => ({
    image: Buffer.from(SVG.replace('<rect', '<image href="file:///etc/passwd" width="10" height="10"/><rect')), request: { image: { allowSvg: true } },
  })],
  // --- image options ---
  // maxPixels 0 is sharp's "no limit": the guard silently switched off, hence 'reject'
  ...[0, -1, NaN, 1, Infinity, '1000000'].map((v) => [`maxPixels ${typeof v === 'string' ? `'${v}'` : v}`, R, async ({ rng }) => ({ image: await png(rng), request: { image: { maxPixels: v } } })]),
  ...[0, -1, NaN, 1.5, 1e9, '512'].map((v) => [`longestEdge ${typeof v === 'string' ? `'${v}'` : v}`, R, async ({ rng }) => ({ image: await png(rng), request: { image: { longestEdge: v } } })]),
  ['tiling "yes"', R, async ({ rng }) => ({ image: await png(rng), request: { image: { tiling: 'yes' } } })],
  ['background "notacolor"', R, async ({ rng }) => ({ image: await encoded(rng, 'png-grey-alpha'), request: { image: { background: 'notacolor' } } })],
  ['background { r: NaN }', R, async ({ rng }) => ({ image: await encoded(rng, 'png-grey-alpha'), request: { image: { background: { r: NaN, g: 0, b: 0 } } } })],
  ['background 42', R, async ({ rng }) => ({ image: await encoded(rng, 'png-grey-alpha'), request: { image: { background: 42 } } })],
  ['image options null', A, async ({ rng }) => ({ image: await png(rng), request: { image: null } })],
  ['an image part with longestEdge -5', R, async ({ rng }) => ({ image: await png(rng), part: { longestEdge: -5 } })],
];

export async function generate({ rng, seed, index, k }) {
  const slot = listSlot(seed, 'image', index, INPUTS.length);
  let name;
  let kind;
  let expect;
  let build;
  let opts = {};
  if (slot >= 0) {
    [name, expect, build, opts = {}] = INPUTS[slot];
    kind = name;
  } else {
    const format = rng.pick(Object.keys(FORMATS));
    const mutation = rng.pick(Object.keys(BYTE_MUTATIONS));
    const wrapper = rng.pick(['Buffer', 'path', 'data: URL']);
    kind = `${format} ${mutation} (random)`;
    expect = A;
    // The mutation is drawn here so that the name says exactly what the case does.
    const bytes = await encoded(rng, format);
    const m = BYTE_MUTATIONS[mutation](rng, bytes);
    name = `${format}, ${m.detail}, as ${wrapper}`;
    build = async () => ({
      image: wrapper === 'Buffer' ? m.bytes : wrapper === 'path' ? file(k, `m.${format}`, m.bytes) : `data:application/octet-stream;base64,${m.bytes.toString('base64')}`,
    });
  }
  return {
    name,
    kind,
    expect,
    codes: CALLER_CODES,
    timeoutMs: opts.timeoutMs,
    async run() {
      k.phase('build-input');
      const input = await build({ rng, k });
      await k.withModel({}, async (vlm) => {
        const image = input.part ? { image: input.image, ...input.part } : input.image;
        if (input.part) {
          k.phase('generate');
          await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', ...image }, { type: 'text', text: 'What is this?' }] }], maxTokens: 2, ...input.request });
        } else await k.ask(vlm, image, input.request);
      });
    },
  };
}
