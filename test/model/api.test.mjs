// Model info, tokenizer, prompt formatting, backend selection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { backendInfo } from '../../dist/index.js';
import { loadTiny, userMessage } from '../helpers.mjs';

let vlm;
before(async () => {
  vlm = await loadTiny();
});
after(() => vlm?.dispose());

test('model info carries SmolVLM metadata', () => {
  const i = vlm.info;
  assert.equal(i.architecture, 'llama');
  assert.equal(i.vocabSize, 49280);
  assert.equal(i.bosToken, 1);
  assert.equal(i.eosToken, 49279);
  assert.equal(i.hasVision, true);
  assert.equal(i.vision.projectorType, 'idefics3');
  assert.ok(i.vision.tokensPerTile > 0);
  assert.match(i.chatTemplate, /<end_of_utterance>/);
  assert.equal(i.contextSize, 4096);
  assert.ok(i.parameters > 0 && i.sizeBytes > 0);
  assert.ok(i.loadTimeMs > 0);
});

test('tokenize / detokenize round trip, special tokens parsed', async () => {
  const text = '<|im_start|>User: héllo 日本<end_of_utterance>';
  const ids = await vlm.tokenize(text);
  assert.equal(ids[0], 1);
  assert.ok(ids.includes(49279));
  assert.equal(await vlm.detokenize(ids), text);
  const plain = await vlm.tokenize('<|im_start|>', { special: false });
  assert.ok(plain.length > 1, 'not parsed as the special token');
  await assert.rejects(vlm.detokenize([1e9]), (e) => e.code === 'ERR_INVALID_ARGUMENT');
});

test("prompts use the model's chat template, one media marker per image", () => {
  const p = vlm.formatPrompt([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'A: ' }, { type: 'image', image: 'a.png' }, { type: 'text', text: ' B: ' }, { type: 'image', image: 'b.png' }] },
  ]);
  assert.equal(p, `<|im_start|>Be brief.\n\nUser: A: ${vlm.info.mediaMarker} B: ${vlm.info.mediaMarker}<end_of_utterance>\nAssistant:`);
});

test('several images interleaved with text in one message', async () => {
  const { ensureTestImages } = await import('../helpers.mjs');
  const images = await ensureTestImages();
  const one = await vlm.generate({ messages: userMessage(images.square, 'x'), maxTokens: 1 });
  const r = await vlm.generate({
    messages: [{ role: 'user', content: [{ type: 'text', text: 'First ' }, { type: 'image', image: images.square }, { type: 'text', text: ' then ' }, { type: 'image', image: images.portrait }] }],
    maxTokens: 4,
  });
  assert.ok(r.usage.imageTokens > one.usage.imageTokens);
});

test('backend info names the CPU variant chosen for this machine', () => {
  const b = backendInfo();
  assert.ok(b.cpuVariant.length > 0);
  assert.ok(b.devices.some((d) => d.type === 'cpu'));
  for (const s of b.skipped) assert.match(s, /not enabled by the OS/);
  assert.equal(vlm.info.cpuVariant, b.cpuVariant);
});

test('countTokens reports the prompt size, images included, before generating', async () => {
  const { ensureTestImages } = await import('../helpers.mjs');
  const images = await ensureTestImages();
  const messages = userMessage(images.landscape, 'Describe this image.');
  const counted = await vlm.countTokens({ messages });
  const r = await vlm.generate({ messages, maxTokens: 1 });
  assert.equal(counted.total, r.usage.promptTokens);
  assert.equal(counted.image, r.usage.imageTokens);
  assert.equal(counted.text, counted.total - counted.image);
  assert.ok(counted.image > 0 && counted.text > 0);
  const textOnly = await vlm.countTokens({ messages: userMessage(null, 'Hello') });
  assert.equal(textOnly.image, 0);
});

test('maxTokens as large as the API allows (2^31 - 1) runs until the context is full', async () => {
  const small = await loadTiny({ contextSize: 256 });
  try {
    const huge = await small.generate({ prompt: 'Hello', maxTokens: 0x7fffffff });
    const capped = await small.generate({ prompt: 'Hello', maxTokens: 100_000 });
    assert.equal(huge.finishReason, 'length');
    assert.ok(huge.usage.completionTokens > 200, `${huge.usage.completionTokens} tokens: the reservation did not overflow`);
    assert.deepEqual(huge.usage, capped.usage);
    assert.equal(huge.text, capped.text);
  } finally {
    await small.dispose();
  }
});
