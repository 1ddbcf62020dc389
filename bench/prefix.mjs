#!/usr/bin/env node
// Time to first token of the second turn of a chat about one 1024x768 image against the first,
// with prompt-prefix reuse (the default) and without it (promptCache: false, the image cache still
// on), on the 256M-shape model.  node bench/prefix.mjs [--size 256m] [--threads N]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhoto } from './photo.mjs';

const { values } = parseArgs({ options: { size: { type: 'string', default: '256m' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const files = await ensureFixture({ size: values.size });
const image = await benchPhoto();

const rows = [];
for (const promptCache of [true, false]) {
  const vlm = await loadModel({ ...files, threads: Number(values.threads), contextSize: 4096, promptCache });
  const turn1 = [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'Describe this image.' }] }];
  const first = await vlm.generate({ messages: turn1, maxTokens: 8 });
  const turn2 = [...turn1, { role: 'assistant', content: first.text }, { role: 'user', content: 'What colours dominate?' }];
  const second = await vlm.generate({ messages: turn2, maxTokens: 8 });
  await vlm.dispose();
  const row = (name, r) => ({
    request: `${name} (promptCache: ${promptCache})`,
    ttftMs: +r.timings.timeToFirstTokenMs.toFixed(0),
    imageEncodeMs: +r.timings.imageEncodeMs.toFixed(0),
    promptTokens: r.usage.promptTokens,
    cachedTokens: r.usage.cachedTokens,
  });
  rows.push(row('turn 1', first), row('turn 2', second));
  console.log(`promptCache: ${promptCache}: turn 1 / turn 2 time to first token: ${(first.timings.timeToFirstTokenMs / second.timings.timeToFirstTokenMs).toFixed(1)}x`);
}
console.table(rows);
