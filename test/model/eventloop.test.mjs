// Nothing heavy runs on the JS thread: load, image decode + encode, generation, dispose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage, withLoopDelay } from '../helpers.mjs';

const LIMIT_MS = 20;

test(`event-loop delay stays under ${LIMIT_MS} ms while loading, encoding, generating and disposing`, async () => {
  const images = await ensureTestImages();
  await loadTiny().then((m) => m.dispose()); // warm the OS page cache and sharp
  // Up to 3 attempts, the best one counts (as the server's event-loop test takes the best of 5): on
  // a VM the hypervisor can take the JS thread's vCPU away for longer than the limit (steal time,
  // about a tenth of the CPU on the CI machines), which no code of ours causes. Work done on the JS
  // thread shows up in every attempt.
  const delays = [];
  for (let attempt = 0; attempt < 3 && !(Math.min(...delays) < LIMIT_MS); attempt++) {
    const [, delay] = await withLoopDelay(async () => {
      const vlm = await loadTiny();
      const s = vlm.stream({ messages: userMessage(images.landscape, 'Describe this image.'), maxTokens: 48 });
      let chunks = 0;
      for await (const _ of s) chunks++;
      const r = await s.result;
      assert.ok(chunks > 0 && r.usage.imageTokens > 0);
      await Promise.all([
        vlm.generate({ messages: userMessage(images.portrait, 'And this one?'), maxTokens: 16 }),
        vlm.generate({ messages: userMessage(images.square, 'And this?'), maxTokens: 16 }),
      ]);
      await vlm.dispose();
    });
    delays.push(delay);
  }
  assert.ok(Math.min(...delays) < LIMIT_MS, `max event-loop delay ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
});
