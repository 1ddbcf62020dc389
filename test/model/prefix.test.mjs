// Prompt-prefix reuse (promptCache): a slot keeps its KV cache after a request, the next request
// reuses the longest common prefix and evaluates the rest; answers equal a cold engine's
// token for token, up to a floating-point near-tie (test/same-greedy.mjs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';
import { assertSameAnswers } from '../same-greedy.mjs';

let images, cold;
before(async () => {
  images = await ensureTestImages();
  cold = await loadTiny({ promptCache: false });
});
after(() => cold?.dispose());

const GREEDY = { maxTokens: 16, temperature: 0, tokens: true, logprobs: true };

function turn2(turn1, answer, question) {
  return [...turn1, { role: 'assistant', content: answer }, { role: 'user', content: question }];
}

test('promptCache: false reuses nothing', async () => {
  const messages = userMessage(images.square, 'What is this?');
  const a = await cold.generate({ messages, ...GREEDY });
  const b = await cold.generate({ messages, ...GREEDY });
  assert.equal(a.usage.cachedTokens, 0);
  assert.equal(b.usage.cachedTokens, 0);
  assert.equal(b.text, a.text);
});

test('multi-turn chat about an image: turn 2 reuses turn 1, answers equal a cold run', async (t) => {
  const vlm = await loadTiny();
  try {
    const t1 = userMessage(images.landscape, 'Describe this image.');
    const a1 = await vlm.generate({ messages: t1, ...GREEDY });
    assert.equal(a1.usage.cachedTokens, 0, 'nothing to reuse on a fresh engine');
    assert.equal(a1.text, (await cold.generate({ messages: t1, ...GREEDY })).text, 'two fresh engines: exactly the same');

    const t2 = turn2(t1, a1.text, 'And the colours?');
    const a2 = await vlm.generate({ messages: t2, ...GREEDY });
    const c2 = await cold.generate({ messages: t2, ...GREEDY });
    assert.ok(a2.usage.cachedTokens > a1.usage.imageTokens, `turn 1 (image included) reused: ${a2.usage.cachedTokens}`);
    assert.ok(a2.usage.cachedTokens < a2.usage.promptTokens, 'the last prompt token is evaluated again');
    assert.equal(a2.timings.imageEncodeMs, 0);
    assert.equal(c2.usage.cachedTokens, 0);
    assert.equal(a2.usage.promptTokens, c2.usage.promptTokens);
    // turn 1's cells were decoded a token at a time, the cold run's in one batch: the same answer up
    // to a floating-point near-tie (test/same-greedy.mjs)
    assertSameAnswers(t, [a2], [c2], () => 'turn 2');

    // the same request again: everything but the last prompt token
    const again = await vlm.generate({ messages: t2, ...GREEDY });
    assert.equal(again.usage.cachedTokens, again.usage.promptTokens - 1);
    assertSameAnswers(t, [again], [c2], () => 'turn 2 again');
  } finally {
    await vlm.dispose();
  }
});

test('another image at the same place is not reused: only the text before it', async (t) => {
  const vlm = await loadTiny();
  try {
    await vlm.generate({ messages: userMessage(images.square, 'Describe this image.'), ...GREEDY });
    const other = userMessage(images.portrait, 'Describe this image.');
    const r = await vlm.generate({ messages: other, ...GREEDY });
    assert.ok(r.usage.cachedTokens > 0, 'the template text before the image');
    assert.ok(r.usage.cachedTokens < 32, `no image chunk reused: ${r.usage.cachedTokens}`);
    assertSameAnswers(t, [r], [await cold.generate({ messages: other, ...GREEDY })], () => 'the other image');
  } finally {
    await vlm.dispose();
  }
});

test('two interleaved conversations on two slots each reuse their own, answers equal a cold run', async (t) => {
  const vlm = await loadTiny({ parallel: 2 });
  try {
    const convs = [userMessage(images.square, 'What is this?'), userMessage(images.portrait, 'Describe this image.')];
    const first = await Promise.all(convs.map((m) => vlm.generate({ messages: m, ...GREEDY })));
    const next = convs.map((m, i) => turn2(m, first[i].text, i ? 'Is it a photo?' : 'What colour is it?'));
    // one after the other: each goes to the slot holding its conversation, not the other one. The
    // kept turns were decoded together, so the answers equal a cold run's up to a floating-point
    // near-tie (test/same-greedy.mjs)
    for (const i of [1, 0]) {
      const r = await vlm.generate({ messages: next[i], ...GREEDY });
      assert.ok(r.usage.cachedTokens > first[i].usage.imageTokens, `conversation ${i} reused its turn 1`);
      assertSameAnswers(t, [r], [await cold.generate({ messages: next[i], ...GREEDY })], () => `conversation ${i}, turn 2`);
    }
    // and both at once
    const third = next.map((m, i) => turn2(m, 'Yes.', `Anything else ${i}?`));
    const both = await Promise.all(third.map((m) => vlm.generate({ messages: m, ...GREEDY })));
    const coldThird = [];
    for (let i = 0; i < 2; i++) {
      assert.ok(both[i].usage.cachedTokens > first[i].usage.imageTokens, `conversation ${i} reused again`);
      coldThird.push(await cold.generate({ messages: third[i], ...GREEDY }));
    }
    assertSameAnswers(t, both, coldThird, (i) => `conversation ${i}, turn 3`);
  } finally {
    await vlm.dispose();
  }
});

test('idle caches never make a request fail: they are dropped when their cells are needed', async () => {
  const vlm = await loadTiny({ parallel: 2, contextSize: 256 });
  try {
    const long = (p, maxTokens) => vlm.generate({ messages: userMessage(null, p), maxTokens, ignoreEos: true });
    // both slots end up holding ~120 cells each
    await Promise.all([long('Count to ten.', 100), long('Name a colour.', 100)]);
    // needs almost the whole context: both idle caches must go
    const r = await long('Write a poem.', 230);
    assert.equal(r.finishReason, 'length');
    assert.equal(r.usage.completionTokens, 230);
    // and again, with the poem's slot holding nearly everything
    const s = await long('Tell a story.', 230);
    assert.equal(s.usage.completionTokens, 230);
  } finally {
    await vlm.dispose();
  }
});
