#!/usr/bin/env node
// Greedy output of a GPU build (SMOLVLM_BINARY=path/to/smolvlm.node, e.g. a Vulkan or CUDA
// build) against this checkout's CPU build, on the synthetic model: 3 images x 2 prompts.
//   SMOLVLM_BINARY=build/vk-out/smolvlm.node node bench/backend-equality.mjs [--size tiny|256m]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { size: { type: 'string', default: 'tiny' }, child: { type: 'boolean' } } });
const PROMPTS = ['Describe this image.', 'What is written on the sign? Answer briefly.'];

if (values.child) {
  const { loadModel, backendInfo } = await import('../dist/index.js');
  const { ensureFixture } = await import('../test/fixtures/synth.mjs');
  const { ensureTestImages } = await import('../test/fixtures/images.mjs');
  const files = await ensureFixture({ size: values.size });
  const images = await ensureTestImages();
  const vlm = await loadModel({ ...files, threads: 2, gpu: process.env.SMOLVLM_BINARY ? true : false });
  const out = { devices: backendInfo().devices.map((d) => `${d.type}:${d.description}`), texts: [] };
  for (const kind of ['square', 'landscape', 'portrait']) {
    for (const text of PROMPTS) {
      const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: images[kind] }, { type: 'text', text }] }], maxTokens: 32, tokens: true });
      out.texts.push(r.tokens.join(','));
    }
  }
  await vlm.dispose();
  console.log(JSON.stringify(out));
} else {
  const run = (env) => {
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', '--size', values.size], { encoding: 'utf8', env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const gpu = run({});
  const cpu = run({ SMOLVLM_BINARY: '' });
  const same = gpu.texts.filter((t, i) => t === cpu.texts[i]).length;
  const prefix = gpu.texts.map((t, i) => {
    const a = t.split(','), b = cpu.texts[i].split(',');
    let n = 0;
    while (n < a.length && a[n] === b[n]) n++;
    return n;
  });
  console.log(`GPU build devices: ${gpu.devices.join(', ')}`);
  console.log(`token-identical to the CPU build: ${same}/${gpu.texts.length}; identical leading tokens (of 32): ${prefix.join(' ')}`);
  process.exitCode = same === gpu.texts.length ? 0 : 1;
}
