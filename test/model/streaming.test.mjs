// Streaming: deltas add up to the final text, characters are never split, text arrives early.
// (TextStream itself, the UTF-8 and stop-string logic, is unit-tested in test/unit/text-stream.test.mjs.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { native } from '../../dist/binding.js';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';

const addon = native();

let vlm, images;
before(async () => {
  vlm = await loadTiny();
  images = await ensureTestImages();
});
after(() => vlm?.dispose());

test('deltas concatenate to the final text; the first arrives before generation ends', async () => {
  const s = vlm.stream({ messages: userMessage(images.landscape, 'Describe this image.'), maxTokens: 40 });
  let text = '';
  let firstAt, chunks = 0;
  for await (const chunk of s) {
    firstAt ??= performance.now();
    text += chunk.text;
    chunks++;
  }
  const result = await s.result;
  const endAt = performance.now();
  assert.equal(text, result.text);
  assert.ok(chunks > 1, `several chunks (${chunks})`);
  assert.ok(firstAt < endAt - 1, 'first delta before the end');
  assert.equal(result.usage.completionTokens, 40);
  assert.equal(result.finishReason, 'length');
});

test('multi-byte UTF-8 split across tokens arrives intact', async () => {
  // Sampling with a fixed seed; the precondition below proves the run really splits characters.
  const s = vlm.stream({ prompt: 'Écris en 日本語 😀:', maxTokens: 200, temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 7, tokens: true });
  let text = '';
  const tokens = [];
  for await (const chunk of s) {
    text += chunk.text;
    tokens.push(...chunk.tokens);
    assert.ok(!/[\uD800-\uDBFF]$/.test(chunk.text), 'no chunk ends in half a surrogate pair');
  }
  const result = await s.result;
  const pieces = await Promise.all(tokens.map((t) => vlm.detokenize([t])));
  const partial = pieces.filter((p) => p.includes('\uFFFD')).length;
  assert.ok(partial > 0, 'precondition: some tokens hold only part of a character');
  assert.equal(text, result.text);
  assert.equal(text, await vlm.detokenize(tokens), 'same as decoding all bytes at once');
  assert.ok(/[^\x00-\x7F]/.test(text), 'the answer has non-ASCII characters');
});

test('stop strings end generation and are not part of the text', async () => {
  const base = await vlm.generate({ messages: userMessage(images.square, 'Describe this image.'), maxTokens: 30 });
  const words = base.text.trim().split(/\s+/);
  assert.ok(words.length >= 3, 'precondition: a few words');
  const stop = words[2].slice(0, 3);
  const cut = await vlm.generate({ messages: userMessage(images.square, 'Describe this image.'), maxTokens: 30, stop: [stop] });
  assert.equal(cut.finishReason, 'stop');
  assert.equal(cut.text, base.text.slice(0, base.text.indexOf(stop)));
});

test('token ids and log-probs on request', async () => {
  const r = await vlm.generate({ messages: userMessage(images.square, 'Hi'), maxTokens: 8, tokens: true, logprobs: true });
  assert.equal(r.tokens.length, 8);
  assert.equal(r.logprobs.length, 8);
  for (const lp of r.logprobs) assert.ok(lp <= 0 && Number.isFinite(lp));
  assert.equal(await vlm.detokenize(r.tokens), r.text);
});
