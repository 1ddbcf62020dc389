// Fitting to GPU memory with the addon: gpu: 'auto' and gpu: { memory } pick the most layers that
// fit, the projector counted, from llama.cpp's dry run (the search itself, on a fake dry run, is in
// test/unit/fit.test.mjs). The GPU part needs a GPU build (CUDA, Vulkan, Metal); here it runs on
// Mesa's lavapipe: SMOLVLM_BINARY=<vulkan build>/smolvlm.node GGML_VK_VISIBLE_DEVICES=0
// node --test test/model/fit.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendInfo, estimateMemory, loadModel } from '../../dist/index.js';
import { ensureFixture, loadTiny, THREADS } from '../helpers.mjs';

const gpu = backendInfo().devices.find((d) => d.type !== 'cpu');
const needsGpu = gpu ? false : 'no GPU device in this build (see the header for a Vulkan run)';

/** Bytes an estimate puts on `device`: model, KV and compute there, plus the projector's share. */
const use = (est, device) =>
  est.devices.filter((d) => d.device === device).reduce((a, d) => a + d.model + d.context + d.compute, 0) +
  est.projector.filter((d) => d.device === device).reduce((a, d) => a + d.model, 0);

test('without a GPU, gpu options leave everything on the CPU', { skip: gpu ? 'this build has a GPU' : false }, async () => {
  const vlm = await loadTiny({ gpu: { memory: '1GB' } });
  const layers = vlm.info.layers;
  try {
    assert.equal(vlm.info.gpuLayers, 0);
    assert.equal(vlm.info.projectorOnGpu, false);
  } finally {
    await vlm.dispose();
  }
  const files = await ensureFixture({ size: 'tiny' });
  const est = await estimateMemory({ ...files, gpu: 'auto' });
  assert.equal(est.gpuLayers, 0);
  assert.equal(est.projectorOnGpu, false);
  assert.equal(est.layers, layers);
  assert.equal(est.contextSize, 4096);
});

test('bad gpu options are typed errors', async () => {
  const files = await ensureFixture({ size: 'tiny' });
  for (const g of [{}, { layers: 1, memory: '1GB' }, { memory: 'lots' }, { memory: -5 }, { layers: 1.5 }, 'some']) {
    const err = await estimateMemory({ ...files, gpu: g }).catch((e) => e);
    assert.equal(err.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(g));
  }
});

test('gpu: { memory } offloads the most layers that fit, projector included', { skip: needsGpu }, async () => {
  const files = await ensureFixture({ size: '256m', dataless: true });
  const base = { ...files, contextSize: 2048 };
  const none = await estimateMemory({ ...base, gpu: { layers: 0 } });
  const all = await estimateMemory({ ...base, gpu: { layers: -1 } });
  const n = all.layers + 1;
  assert.equal(all.gpuLayers, n);
  const budget = Math.floor(use(none, gpu.name) + (use(all, gpu.name) - use(none, gpu.name)) / 2);

  const fit = await estimateMemory({ ...base, gpu: { memory: budget } });
  assert.ok(fit.gpuLayers > 0 && fit.gpuLayers < n, `about half the layers: ${fit.gpuLayers} of ${n}`);
  assert.equal(fit.projectorOnGpu, true);
  assert.ok(use(fit, gpu.name) <= budget, 'within the budget');
  const oneMore = await estimateMemory({ ...base, gpu: { layers: fit.gpuLayers + 1 } });
  assert.ok(use(oneMore, gpu.name) > budget - 2 ** 20, 'and one more layer would not be (1 MiB is kept as headroom)');

  // the projector takes its room: without it on the GPU, more layers fit
  const projectorOnCpu = await estimateMemory({ ...base, gpu: { memory: budget }, projectorOnGpu: false });
  assert.ok(projectorOnCpu.gpuLayers > fit.gpuLayers, `${projectorOnCpu.gpuLayers} > ${fit.gpuLayers}`);

  // too little for the projector even with no layer: it moves to the CPU, layers fit what is left
  const small = Math.floor(use(none, gpu.name) / 2);
  const tight = await estimateMemory({ ...base, gpu: { memory: small } });
  assert.equal(tight.projectorOnGpu, false);
  assert.ok(use(tight, gpu.name) <= small);
  // too little for the GPU's compute buffers: the CPU alone, nothing on the GPU
  // (with no layer the GPU still holds compute buffers; without the GPU the model has no device there)
  assert.ok(none.devices.find((d) => d.device === gpu.name).compute > 0);
  const nothing = await estimateMemory({ ...base, gpu: { memory: 1 } });
  assert.deepEqual([nothing.projectorOnGpu, nothing.gpuLayers], [false, 0]);
  assert.equal(nothing.devices.find((d) => d.device === gpu.name), undefined, 'no buffer on the GPU');
  assert.ok(nothing.projector.every((d) => d.type === 'cpu'));
  const off = await estimateMemory({ ...base, gpu: false });
  assert.deepEqual([off.projectorOnGpu, off.gpuLayers], [false, 0]);
  assert.equal(off.devices.find((d) => d.device === gpu.name), undefined, 'gpu: false leaves the GPU untouched');

  // plenty: everything
  assert.equal((await estimateMemory({ ...base, gpu: { memory: use(all, gpu.name) + 2 ** 21 } })).gpuLayers, n);
});

test('a load follows the fit: live GPU memory within the budget, and it answers', { skip: needsGpu }, async () => {
  const files = await ensureFixture({ size: '256m' });
  const base = { ...files, contextSize: 2048, threads: THREADS, warmup: true };
  const none = await estimateMemory({ ...base, gpu: { layers: 0 } });
  const all = await estimateMemory({ ...base, gpu: { layers: -1 } });
  const budget = Math.floor(use(none, gpu.name) + (use(all, gpu.name) - use(none, gpu.name)) / 2);
  const est = await estimateMemory({ ...base, gpu: { memory: budget } });
  const vlm = await loadModel({ ...base, gpu: { memory: budget } });
  try {
    assert.equal(vlm.info.gpuLayers, est.gpuLayers);
    const live = vlm.memory();
    assert.ok(use(live, gpu.name) <= budget, `${use(live, gpu.name)} <= ${budget}`);
    assert.ok(Math.abs(use(live, gpu.name) - use(est, gpu.name)) <= 0.05 * use(est, gpu.name), 'estimate within 5% of live');
    const r = await vlm.generate({ prompt: 'Hello', maxTokens: 4 });
    assert.equal(r.usage.completionTokens, 4);
  } finally {
    await vlm.dispose();
  }
});

test("gpu: 'auto' fits free memory less 1 GiB, and memoryLimit still bounds the total", { skip: needsGpu }, async () => {
  const files = await ensureFixture({ size: '256m', dataless: true });
  const auto = await estimateMemory({ ...files, contextSize: 2048 });
  const dev = auto.devices.find((d) => d.device === gpu.name);
  assert.ok(use(auto, gpu.name) <= dev.free - 1024 ** 3);
  const all = await estimateMemory({ ...files, contextSize: 2048, gpu: { layers: -1 } });
  if (use(all, gpu.name) <= dev.free - 1024 ** 3) assert.equal(auto.gpuLayers, all.gpuLayers);

  const limit = (await estimateMemory({ ...files, contextSize: 4096, gpu: { layers: -1 } })).totals.all;
  const half = Math.floor(use(all, gpu.name) / 2);
  const both = await estimateMemory({ ...files, contextSize: 8192, memoryLimit: limit, gpu: { memory: half } });
  assert.ok(both.totals.all <= limit, 'total within memoryLimit');
  assert.ok(use(both, gpu.name) <= half, 'GPU within its budget');
  assert.ok(both.contextSize < 8192 && both.contextSize >= 2048, `context ${both.contextSize}`);
  assert.ok(both.gpuLayers > 0);
});
