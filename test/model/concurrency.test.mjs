// Continuous batching: concurrent greedy generations equal their sequential results, token for
// token up to a floating-point near-tie (test/same-greedy.mjs says why and how that is told apart).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';
import { assertSameAnswers } from '../same-greedy.mjs';

let vlm, images;
before(async () => {
  vlm = await loadTiny({ parallel: 4, contextSize: 4096 });
  images = await ensureTestImages();
});
after(() => vlm?.dispose());

const fourRequests = () => [
  { messages: userMessage(images.square, 'Describe this image.'), maxTokens: 24 },
  { messages: userMessage(images.landscape, 'What is in the picture?'), maxTokens: 20 },
  { messages: userMessage(images.portrait, 'Describe this image.'), maxTokens: 28 },
  { messages: userMessage(null, 'Write a haiku about the sea.'), maxTokens: 16 },
].map((r) => ({ ...r, tokens: true, logprobs: true }));

test('4 concurrent greedy generations equal their sequential results', async (t) => {
  const requests = fourRequests();
  const sequential = [];
  for (const r of requests) sequential.push(await vlm.generate(r));
  assert.equal(new Set(sequential.map((r) => r.text)).size, 4, 'precondition: four different answers');
  const concurrent = await Promise.all(requests.map((r) => vlm.generate(r)));
  assertSameAnswers(t, concurrent, sequential);
});

test('more requests than slots queue and all complete', async () => {
  const prompts = Array.from({ length: 9 }, (_, i) => `Count to ${i + 1}.`);
  const results = await Promise.all(prompts.map((p) => vlm.generate({ messages: userMessage(null, p), maxTokens: 6 })));
  for (const r of results) assert.equal(r.usage.completionTokens, 6);
});

test('kvUnified: false (a share of the cells per slot): the same greedy answers; a prompt over the share is ERR_CONTEXT_FULL', async (t) => {
  const requests = fourRequests();
  const expected = [];
  for (const r of requests) expected.push(await vlm.generate(r));
  const perSlot = await loadTiny({ parallel: 4, contextSize: 1024, kvUnified: false });
  try {
    const concurrent = await Promise.all(requests.map((r) => perSlot.generate(r)));
    assertSameAnswers(t, concurrent, expected);
    const long = { prompt: 'one two three four five six seven eight '.repeat(40), maxTokens: 4 };
    assert.ok((await perSlot.countTokens(long)).total > 256, 'precondition: longer than a slot\'s 256 cells');
    await assert.rejects(perSlot.generate(long), (err) => err.code === 'ERR_CONTEXT_FULL' && /per slot/.test(err.message));
    assert.equal((await vlm.generate(long)).usage.completionTokens, 4, 'one pool: the same prompt fits');
  } finally {
    await perSlot.dispose();
  }
});
