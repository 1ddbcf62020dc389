// Memory: estimate before loading equals what loading allocates; budgets; no leaks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { estimateMemory, InsufficientMemoryError, loadModel, parseBytes } from '../../dist/index.js';
import { ensureFixture, root, slow, THREADS } from '../helpers.mjs';

const within = (a, b, tolerance = 0.05) => Math.abs(a - b) <= tolerance * Math.max(a, b);

for (const size of ['tiny', '256m']) {
  test(`estimate equals the live breakdown, category by category (${size})`, async () => {
    const { model, mmproj } = await ensureFixture({ size });
    const options = { model, mmproj, threads: THREADS, contextSize: 2048, parallel: 2 };
    const est = await estimateMemory(options);
    const vlm = await loadModel(options);
    try {
      const live = vlm.memory();
      for (const k of ['model', 'context', 'compute', 'projector', 'all']) {
        assert.ok(est.totals[k] > 0, `${k} estimated`);
        assert.ok(within(est.totals[k], live.totals[k]), `${k}: estimate ${est.totals[k]} vs actual ${live.totals[k]}`);
      }
      const host = live.devices.at(-1);
      assert.equal(host.device, 'CPU');
      assert.ok(host.total > 0 && host.free > 0);
      assert.ok(live.rss > live.totals.compute, 'process RSS reported');
    } finally {
      await vlm.dispose();
    }
  });
}

test('the KV cache estimate follows context size and cache type', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const a = await estimateMemory({ model, mmproj, contextSize: 1024 });
  const b = await estimateMemory({ model, mmproj, contextSize: 4096 });
  const q = await estimateMemory({ model, mmproj, contextSize: 4096, kvCacheType: 'q8_0' });
  assert.ok(within(b.totals.context, 4 * a.totals.context, 0.01));
  assert.ok(q.totals.context < b.totals.context * 0.6);
  assert.equal(a.totals.model, b.totals.model);
});

test('memoryLimit too small fails before allocating, with the numbers', async () => {
  const { model, mmproj } = await ensureFixture({ size: '256m' });
  await estimateMemory({ model, mmproj, contextSize: 512 }); // backends initialised (a GPU backend's own RSS is not the model's)
  const before = process.memoryUsage.rss();
  const err = await loadModel({ model, mmproj, memoryLimit: '200MB' }).catch((e) => e);
  assert.ok(err instanceof InsufficientMemoryError, String(err));
  assert.equal(err.code, 'ERR_INSUFFICIENT_MEMORY');
  assert.equal(err.limit, 200e6);
  assert.ok(err.required > 200e6 && err.estimate.totals.model > 0);
  assert.match(err.message, /weights .* KV cache .* projector/);
  assert.ok(process.memoryUsage.rss() - before < 100e6, 'no weights were loaded');
});

test('memoryLimit that fits only a smaller context reduces it, and says so', async () => {
  const { model, mmproj } = await ensureFixture({ size: '256m' });
  const at = async (ctx) => (await estimateMemory({ model, mmproj, contextSize: ctx })).totals.all;
  const limit = Math.floor((await at(2048) + await at(4096)) / 2);
  const vlm = await loadModel({ model, mmproj, threads: THREADS, contextSize: 8192, memoryLimit: limit });
  try {
    assert.ok(vlm.info.contextSize >= 2048 && vlm.info.contextSize < 4096, `context ${vlm.info.contextSize}`);
    assert.equal(vlm.info.requestedContextSize, 8192);
    assert.ok(vlm.memory().totals.all <= limit);
  } finally {
    await vlm.dispose();
  }
  const roomy = await loadModel({ model, mmproj, threads: THREADS, contextSize: 1024, memoryLimit: '8GB' });
  assert.equal(roomy.info.contextSize, 1024);
  assert.equal(roomy.info.requestedContextSize, undefined);
  await roomy.dispose();
});

test('sizes parse', () => {
  assert.equal(parseBytes('1.5GB'), 1.5e9);
  assert.equal(parseBytes('512 MiB'), 512 * 1024 ** 2);
  assert.equal(parseBytes('800M'), 800 * 1024 ** 2);
  assert.equal(parseBytes(1234), 1234);
  assert.throws(() => parseBytes('lots'), /memoryLimit/);
  assert.throws(() => parseBytes(-1), /memoryLimit/);
});

// RSS settles: a leak raises the floor of RSS cycle after cycle, while the allocator's caching
// only makes it fluctuate above that floor, so the lowest late sample is compared with the lowest
// early one. Each check runs in a fresh process, so earlier tests do not blur it.
const settle = (samples, label, limitMb) => {
  const window = Math.max(3, Math.floor(samples.length / 4));
  const early = Math.min(...samples.slice(0, window));
  const late = Math.min(...samples.slice(-window));
  assert.ok(late - early < limitMb * 1e6, `${label}: RSS floor ${(early / 1e6).toFixed(1)} MB -> ${(late / 1e6).toFixed(1)} MB (${samples.map((s) => (s / 1e6).toFixed(0)).join(' ')})`);
};

function samplesFromChild(body, { images = false } = {}) {
  // --expose-gc: samples are taken after a full GC, so JS garbage (decoded image buffers waiting
  // for collection) is not mistaken for a native leak; sharp (loaded only where images are) has
  // its cache off for the same reason. One malloc arena and a fixed mmap threshold: otherwise
  // freed memory parks in whichever arena a thread used, or in the heap once glibc raises its
  // mmap threshold, and RSS jumps between plateaus tens of MB apart, which would hide or fake a trend.
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `
    import { loadModel } from './dist/index.js';
    import { ensureFixture } from './test/fixtures/synth.mjs';
    const { model, mmproj } = await ensureFixture({ size: 'tiny' });
    ${images ? `
    const { default: sharp } = await import('sharp');
    const { ensureTestImages } = await import('./test/fixtures/images.mjs');
    sharp.cache(false);
    const images = await ensureTestImages();` : ''}
    const samples = [];
    const sample = () => { global.gc(); samples.push(process.memoryUsage.rss()); };
    ${body}
    console.log(JSON.stringify(samples));
  `], { cwd: root, encoding: 'utf8', timeout: 600_000, env: { ...process.env, MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test(`load/dispose cycles do not leak (${slow ? 100 : 30} cycles after warm-up)`, () => {
  const samples = samplesFromChild(`
    for (let i = 0; i < 10 + ${slow ? 100 : 30}; i++) {
      const vlm = await loadModel({ model, mmproj, threads: ${THREADS}, contextSize: 1024 });
      await vlm.dispose();
      if (i >= 10) sample();
    }`);
  settle(samples, 'load/dispose', 20);
});

test(`generate calls with images, aborts and errors do not leak (${slow ? 1000 : 150} calls after warm-up)`, () => {
  const samples = samplesFromChild(`
    const vlm = await loadModel({ model, mmproj, threads: ${THREADS}, contextSize: 2048, imageCache: { maxBytes: 1 << 20 } });
    const kinds = ['square', 'landscape', 'portrait'];
    for (let i = 0; i < 60 + ${slow ? 1000 : 150}; i++) {
      // every resolution path: defaults, a smaller edge, the overview alone (its tile is dropped)
      const resolution = [{}, { longestEdge: 192 }, { tiling: false }][Math.floor(i / 3) % 3];
      const content = [{ type: 'image', image: images[kinds[i % 3]], ...resolution }, { type: 'text', text: 'Question ' + i }];
      const request = { messages: [{ role: 'user', content }], maxTokens: 4 };
      if (i % 10 === 7) request.signal = AbortSignal.timeout(1);
      if (i % 10 === 9) content[0].image = { data: new Uint8Array(5), width: 2, height: 2, channels: 3 };
      await vlm.generate(request).catch(() => {});
      if (i >= 60 && i % 10 === 0) sample();
    }
    await vlm.dispose();`, { images: true });
  settle(samples, 'generate', 16);
});
