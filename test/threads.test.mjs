// The engine's ggml thread pool must not fight the projector's threads for the cores: with the
// default thread count (all cores) an image encode is not several times slower than with one
// thread. (It was: ~1.85 s against 9 ms per tile on a 2-core machine, because the pool's threads
// spun for work for ~100 ms after every decode while the projector encoded.)
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage } from './helpers.mjs';

/** Best image-encode time of `runs` uncached requests, with the tiny model on `threads` threads. */
async function encodeMs(threads, image, runs = 3) {
  const vlm = await loadTiny({ threads, imageCache: false });
  try {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const r = await vlm.generate({ messages: userMessage(image, 'Hi'), maxTokens: 4 });
      assert.ok(r.usage.imageTokens > 0);
      best = Math.min(best, r.timings.imageEncodeMs);
    }
    return best;
  } finally {
    await vlm.dispose();
  }
}

test('an image encode with the default thread count is not several times slower than with one thread', { skip: availableParallelism() < 2 && 'needs 2 cores' }, async () => {
  const { landscape } = await ensureTestImages();
  const one = await encodeMs(1, landscape);
  const all = await encodeMs(availableParallelism(), landscape);
  // coarse on purpose: a behaviour check, not a timing benchmark (the bug was a 200x slowdown)
  assert.ok(all <= 4 * one + 50, `encode with ${availableParallelism()} threads: ${all.toFixed(1)} ms; with 1 thread: ${one.toFixed(1)} ms`);
});
