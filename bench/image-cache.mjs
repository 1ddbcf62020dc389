#!/usr/bin/env node
// Time to first token of a second question about the same image (encoded-image cache) against
// the first, on the 256M-shape model.  node bench/image-cache.mjs [--size 256m] [--threads N]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhoto } from './photo.mjs';

const { values } = parseArgs({ options: { size: { type: 'string', default: '256m' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const files = await ensureFixture({ size: values.size });
const image = await benchPhoto();

const vlm = await loadModel({ ...files, threads: Number(values.threads), contextSize: 4096 });
const ask = (text) => vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text }] }], maxTokens: 8 });
const first = await ask('Describe this image.');
const second = await ask('What colours dominate?');
await vlm.dispose();
const row = (name, r) => ({ request: name, ttftMs: +r.timings.timeToFirstTokenMs.toFixed(0), imageEncodeMs: +r.timings.imageEncodeMs.toFixed(0), imageTokens: r.usage.imageTokens });
console.table([row('first question', first), row('second question (cached image)', second)]);
console.log(`second / first time to first token: ${(second.timings.timeToFirstTokenMs / first.timings.timeToFirstTokenMs).toFixed(3)}`);
