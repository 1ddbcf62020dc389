// Encoded-image cache: a second question about an image skips the encoder, same answer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ensureFixture, ensureTestImages, loadTiny, referenceAnswer, userMessage } from '../helpers.mjs';

let images;
before(async () => {
  images = await ensureTestImages();
});

// promptCache: false where the image cache itself is measured (a repeated prompt would otherwise
// take the image from the slot's KV cache: test/model/prefix.test.mjs)
test('a second request about the same image does not run the encoder and answers the same', async () => {
  const vlm = await loadTiny({ promptCache: false });
  const uncached = await loadTiny({ imageCache: false, promptCache: false });
  try {
    const ask = (m, prompt) => m.generate({ messages: userMessage(images.landscape, prompt), maxTokens: 16 });
    const first = await ask(vlm, 'Describe this image.');
    const s1 = vlm.imageCacheStats();
    assert.ok(s1.encodes > 0 && s1.entries === s1.encodes && s1.bytes > 0);
    assert.equal(s1.hits, 0);

    const second = await ask(vlm, 'Describe this image.');
    const s2 = vlm.imageCacheStats();
    assert.equal(s2.encodes, s1.encodes, 'no new encode');
    assert.equal(s2.hits, s1.encodes, 'every tile from the cache');
    assert.equal(second.text, first.text);
    assert.equal(second.timings.imageEncodeMs, 0);

    // same pixels from another source (Buffer), other prompt: still cached
    await vlm.generate({ messages: userMessage(readFileSync(images.landscape), 'What is it?'), maxTokens: 4 });
    assert.equal(vlm.imageCacheStats().encodes, s1.encodes);

    // greedy output with the cache equals the uncached engine
    assert.equal((await ask(uncached, 'Describe this image.')).text, first.text);
    assert.equal(uncached.imageCacheStats().entries, 0);
    assert.ok(uncached.imageCacheStats().encodes > 0);
  } finally {
    await Promise.all([vlm.dispose(), uncached.dispose()]);
  }
});

test('the same image three times in one request is encoded once, with or without the cache', async () => {
  const files = await ensureFixture({ size: 'tiny' });
  const prompt = 'Describe these images.';
  const thrice = [{ role: 'user', content: [...Array(3)].map(() => ({ type: 'image', image: images.landscape })).concat({ type: 'text', text: prompt }) }];
  const once = await loadTiny({ imageCache: false });
  try {
    await once.generate({ messages: userMessage(images.landscape, 'a'), maxTokens: 1 });
    const tiles = once.imageCacheStats().encodes;
    assert.ok(tiles > 1, 'a tiled image');
    for (const imageCache of [false, undefined]) {
      const vlm = await loadTiny({ imageCache });
      try {
        const r = await vlm.generate({ messages: thrice, maxTokens: 16, temperature: 0 });
        assert.equal(vlm.imageCacheStats().encodes, tiles, `imageCache: ${imageCache}: one image's tiles encoded`);
        assert.equal(r.usage.imageTokens % 3, 0);
        // llama-mtmd-cli encodes all three copies: the answer must not change
        const theirs = await referenceAnswer({ ...files, images: [images.landscape, images.landscape, images.landscape], prompt, maxTokens: 16 });
        assert.equal(r.text + (r.finishReason === 'stop' ? '\n' : ''), theirs);
      } finally {
        await vlm.dispose();
      }
    }
  } finally {
    await once.dispose();
  }
});

test('multi-turn chat about one image re-encodes nothing', async () => {
  const vlm = await loadTiny();
  try {
    const turn1 = [{ role: 'user', content: [{ type: 'image', image: images.square }, { type: 'text', text: 'What is this?' }] }];
    const a1 = await vlm.generate({ messages: turn1, maxTokens: 8 });
    const encodes = vlm.imageCacheStats().encodes;
    const turn2 = [...turn1, { role: 'assistant', content: a1.text }, { role: 'user', content: 'And the colours?' }];
    await vlm.generate({ messages: turn2, maxTokens: 8 });
    assert.equal(vlm.imageCacheStats().encodes, encodes);
  } finally {
    await vlm.dispose();
  }
});

test('the cache is bounded by bytes, least recently used first out', async () => {
  const vlm = await loadTiny({ promptCache: false });
  try {
    await vlm.generate({ messages: userMessage(images.square, 'a'), maxTokens: 1 });
    const perImage = vlm.imageCacheStats().bytes;
    vlm.clearImageCache({ maxBytes: Math.floor(perImage * 1.5) });
    assert.equal(vlm.imageCacheStats().bytes, 0);
    await vlm.generate({ messages: userMessage(images.square, 'a'), maxTokens: 1 });
    await vlm.generate({ messages: userMessage(images.portrait, 'a'), maxTokens: 1 });
    const s = vlm.imageCacheStats();
    assert.ok(s.bytes <= s.maxBytes, `${s.bytes} <= ${s.maxBytes}`);
    assert.ok(s.evictions > 0);
  } finally {
    await vlm.dispose();
  }
});
