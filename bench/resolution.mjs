#!/usr/bin/env node
// Image tokens, encode time and time to first token of one 1024x768 image at the model's default
// resolution, at longestEdge 1024 and with tiling off, on the 256M-shape model; ratios against
// the default.  node bench/resolution.mjs [--size 256m] [--threads N]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhoto } from './photo.mjs';

const { values } = parseArgs({ options: { size: { type: 'string', default: '256m' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const files = await ensureFixture({ size: values.size });
const image = await benchPhoto();

// no image cache: every setting pays for its own encode
const vlm = await loadModel({ ...files, threads: Number(values.threads), contextSize: 4096, imageCache: false });
const settings = [
  ['default', {}],
  ['longestEdge 1024', { longestEdge: 1024 }],
  ['tiling: false', { tiling: false }],
];
const rows = [];
for (const [name, s] of settings) {
  const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image, ...s }, { type: 'text', text: 'Describe this image.' }] }], maxTokens: 8 });
  rows.push({ setting: name, imageTokens: r.usage.imageTokens, imageEncodeMs: +r.timings.imageEncodeMs.toFixed(0), ttftMs: +r.timings.timeToFirstTokenMs.toFixed(0) });
}
await vlm.dispose();
const base = rows[0];
for (const r of rows) {
  r.tokenRatio = +(r.imageTokens / base.imageTokens).toFixed(3);
  r.ttftRatio = +(r.ttftMs / base.ttftMs).toFixed(3);
}
console.table(rows);
